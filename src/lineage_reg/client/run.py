"""A run in progress: metrics, inputs (lineage) and outputs of one execution of training code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .version import Version

if TYPE_CHECKING:
    from .registry import Registry

FINISH = ("mutation($r: ID!, $s: RunStatus!, $m: JSON) { finishRun(run: $r, status: $s, summary: $m) "
          "{ status } }")
METRICS = "mutation($r: ID!, $s: Int!, $m: JSON!) { logMetrics(run: $r, step: $s, metrics: $m) }"
USE_ARTIFACT = "mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }"
USE_DATASET = "mutation($r: ID!, $d: DatasetInput!, $m: String!) { useDataset(run: $r, dataset: $d, mode: $m) { id } }"


class Run:
    """Made by ``Registry.start_run``. As a context manager it finishes FINISHED, or FAILED when the block raises
    (unless ``finish`` was already called)."""

    def __init__(self, registry: Registry, project: str, run_id: str, name: str) -> None:
        self.registry = registry
        self.project = project
        self.id = run_id
        self.name = name
        self.finished = False

    def __repr__(self) -> str:
        return f"Run({self.project}/{self.name}, id={self.id})"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self.finished:
            self.finish("FAILED" if exc_type else "FINISHED")

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """Record ``{key: value}`` at ``step`` in the run's metric history."""
        self.registry.query(METRICS, r=self.id, s=step, m=metrics)

    def use_artifact(self, ref: str) -> None:
        """Record that this run read an artifact version (lineage: version -> run)."""
        self.registry.query(USE_ARTIFACT, r=self.id, v=ref)

    def use_dataset(self, namespace: str, name: str, mode: str = "read") -> None:
        """Record an external dataset this run read (``mode="read"``) or wrote (``mode="write"``)."""
        self.registry.query(USE_DATASET, r=self.id, d={"namespace": namespace, "name": name}, m=mode)

    def log_artifact(self, name: str, *, type: str, path: str | Path, metadata: dict[str, Any] | None = None,
                     description: str | None = None, aliases: Sequence[str] | None = None) -> Version:
        """``Registry.log_artifact`` in the run's project (the server allows no other) with this run as producer."""
        return self.registry.log_artifact(self.project, name, type=type, path=path, metadata=metadata,
                                          description=description, aliases=aliases, run=self)

    def finish(self, status: str = "FINISHED", summary: dict[str, Any] | None = None) -> None:
        """End the run as ``FINISHED`` or ``FAILED``, with optional summary metrics."""
        self.registry.query(FINISH, r=self.id, s=status, m=summary)
        self.finished = True
