"""The one reference parser."""

from __future__ import annotations

import pytest

from lineage_reg import refs
from lineage_reg.errors import BadInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn/classifier:v3", refs.VersionRef("churn", "classifier", index=3)),
        ("churn/classifier:v0", refs.VersionRef("churn", "classifier", index=0)),
        ("churn/classifier:latest", refs.VersionRef("churn", "classifier", alias="latest")),
        ("churn/classifier:prod-2", refs.VersionRef("churn", "classifier", alias="prod-2")),
        ("churn/classifier@3fa9c1", refs.VersionRef("churn", "classifier", digest_prefix="3fa9c1")),
        ("my.proj/Model_A:staging", refs.VersionRef("my.proj", "Model_A", alias="staging")),
    ],
)
def test_parses(text: str, expected: refs.VersionRef) -> None:
    parsed = refs.parse_version_ref(text)
    assert parsed == expected
    assert str(parsed) == text


@pytest.mark.parametrize(
    "text",
    ["churn", "churn/x", "churn/x:", "churn/:v1", "/x:v1", "Churn/x:v1", "churn/x:v01", "churn/x@abc",
     "churn/x@ZZZZZZ", "churn/x:Prod", "churn/x/y:v1", "churn/x:v1:v2", "churn/-x:v1"],
)
def test_rejects(text: str) -> None:
    with pytest.raises(BadInput) as err:
        refs.parse_version_ref(text)
    assert repr(text) in err.value.message


@pytest.mark.parametrize("path", ["a.txt", "dir/a.txt", "a/b/c.bin", "..a", "a..b/c", "caf\u00e9/\u65e5\u672c.txt",
                                  "x" * 200, "/".join(["y" * 200] * 5)])
def test_file_paths_ok(path: str) -> None:
    assert refs.check_file_path(path) == path


@pytest.mark.parametrize("path", ["", "/abs", "../x", "a/../b", "a//b", "./a", "a/.", "a\\b", "a/", "x\x00y", ".", "..",
                                  "x" * 201, "\u00e9" * 101, "/".join(["y" * 200] * 6), "a\nb", "a\rb", "a\tb",
                                  "a\x7fb", "a\x85b", "a\u202eb", "a\u2066b", "a\u200fb", "a\ud800b"])
def test_file_paths_rejected(path: str) -> None:
    with pytest.raises(BadInput) as err:
        refs.check_file_path(path)
    assert err.value.message.startswith("invalid file path")


@pytest.mark.parametrize(("paths", "needle"), [
    (["a", "a/b"], "is also the directory of"),
    (["a/b/c", "a/b"], "is also the directory of"),
    (["A/B", "a/b/c"], "is also the directory of"),
    (["a.txt", "A.TXT"], "differ only by case"),
    (["caf\u00e9", "cafe\u0301"], "Unicode normalisation"),
    (["x", "x"], "appears twice"),
])
def test_file_path_sets_rejected(paths: list[str], needle: str) -> None:
    with pytest.raises(BadInput) as err:
        refs.check_file_paths(paths)
    assert needle in err.value.message


def test_file_path_sets_ok() -> None:
    refs.check_file_paths(["a/b", "a/c", "A/d", "ab", "a.b/c"])


def test_alias_cannot_look_like_an_index() -> None:
    with pytest.raises(BadInput):
        refs.check_alias("v3")
    assert refs.check_alias("v3-candidate") == "v3-candidate"
