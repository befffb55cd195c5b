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


@pytest.mark.parametrize("path", ["a.txt", "dir/a.txt", "a/b/c.bin", "..a", "a..b/c"])
def test_file_paths_ok(path: str) -> None:
    assert refs.check_file_path(path) == path


@pytest.mark.parametrize("path", ["", "/abs", "../x", "a/../b", "a//b", "./a", "a/.", "a\\b", "a/", "x\x00y"])
def test_file_paths_rejected(path: str) -> None:
    with pytest.raises(BadInput):
        refs.check_file_path(path)


def test_alias_cannot_look_like_an_index() -> None:
    with pytest.raises(BadInput):
        refs.check_alias("v3")
    assert refs.check_alias("v3-candidate") == "v3-candidate"
