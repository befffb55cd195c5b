"""The Python SDK against a real server: both databases, both blob stores."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from conftest import LiveServer
from lineage_reg.client import DigestInvalid, NotFound, Registry
from lineage_reg.client.files import VerifiedWriter, safe_target
from lineage_reg.config import Settings
from lineage_reg.errors import BadInput


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
    return root


def test_log_link_resolve_download(live: LiveServer, tmp_path: Path, dialect: str, storage: str) -> None:
    files = {"model.bin": os.urandom(4096), "tok/vocab.txt": b"a b c", "config.json": b"{}"}
    src = write_tree(tmp_path / "out", files)
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        with reg.start_run("churn", config={"lr": 0.1}) as run:
            run.log_metrics(0, {"loss": 0.5})
            run.use_dataset("s3://lake", "events")
            version = run.log_artifact("classifier", type="model", path=src, metadata={"auc": 0.9})
        assert version.ref == "churn/classifier:v0" and version.state == "COMMITTED"
        assert sorted(f.path for f in version.files) == sorted(files)
        again = reg.log_artifact("churn", "classifier", type="model", path=src)
        assert again.id == version.id  # deduplicated
        assert reg.link(version.ref, "churn/prod", aliases=["staging"]) == "churn/prod:v0"
        reg.set_alias("churn/prod", "production", version.ref)
        assert reg.resolve("churn/prod:production").metadata == {"auc": 0.9}
        out = reg.download("churn/prod:production", tmp_path / "deployed")
        assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
        assert [v["ref"] for v in reg.versions("churn", "classifier")] == ["churn/classifier:v0"]
        run_view = reg.query("query($id: ID!) { run(id: $id) { status datasetsRead { name } outputs { ref } } }",
                             id=run.id)["run"]
        assert run_view == {"status": "FINISHED", "datasetsRead": [{"name": "events"}],
                            "outputs": [{"ref": "churn/classifier:v0"}]}


def test_large_file_goes_up_in_parts(settings: Settings, tmp_path: Path, dialect: str, storage: str) -> None:
    small_parts = dataclasses.replace(settings, multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024)
    body = os.urandom(11 * 1024 * 1024)
    src = write_tree(tmp_path / "big", {"weights.bin": body})
    with LiveServer(small_parts) as live, Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "big", type="model", path=src)
        out = reg.download(version.ref, tmp_path / "back")
        assert (out / "weights.bin").read_bytes() == body


def test_errors_map_to_classes(live: LiveServer, dialect: str) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        with pytest.raises(NotFound, match="project 'ghost'"):
            reg.resolve("ghost/model:production")
        with pytest.raises(BadInput, match="invalid reference"):
            reg.resolve("not a ref")


def test_failed_run_is_marked_failed(live: LiveServer, dialect: str) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        with pytest.raises(RuntimeError), reg.start_run("churn") as run:
            raise RuntimeError("training crashed")
        assert reg.query("query($id: ID!) { run(id: $id) { status } }", id=run.id)["run"]["status"] == "FAILED"


def test_verified_writer_keeps_nothing_on_mismatch(tmp_path: Path) -> None:
    writer = VerifiedWriter(tmp_path / "f.bin", "0" * 64)
    writer.write(b"not those bytes")
    with pytest.raises(DigestInvalid):
        writer.finish()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BadInput):
        safe_target(tmp_path, "../escape")
