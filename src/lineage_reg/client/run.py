"""A run in progress: metrics, inputs (lineage) and outputs of one execution of training code.

``AsyncRun`` (from ``AsyncRegistry.start_run``) does the work; ``Run`` (from ``Registry.start_run``) is its
blocking facade, method for method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from .portal import Portal, blocking
from .version import Version

if TYPE_CHECKING:
    from .aio import AsyncRegistry
    from .registry import Registry

FINISH = ("mutation($r: ID!, $s: RunStatus!, $m: JSON) { finishRun(run: $r, status: $s, summary: $m) "
          "{ status } }")
METRICS = "mutation($r: ID!, $s: Int!, $m: JSON!) { logMetrics(run: $r, step: $s, metrics: $m) }"
USE_ARTIFACT = "mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }"
USE_DATASET = "mutation($r: ID!, $d: DatasetInput!, $m: String!) { useDataset(run: $r, dataset: $d, mode: $m) { id } }"


class AsyncRun:
    """Made by ``AsyncRegistry.start_run``. As an async context manager it finishes FINISHED, or FAILED when the
    block raises (unless ``finish`` was already called)."""

    def __init__(self, registry: AsyncRegistry, project: str, run_id: str, name: str) -> None:
        self.registry = registry
        self.project = project
        self.id = run_id
        self.name = name
        self.finished = False
        self.step = -1  # the last step logged

    def __repr__(self) -> str:
        return f"AsyncRun({self.project}/{self.name}, id={self.id})"

    async def __aenter__(self) -> AsyncRun:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if not self.finished:
            await self.finish("FAILED" if exc_type else "FINISHED")

    async def log_metrics(self, *args: Any, step: int | None = None,
                          metrics: Mapping[str, float] | None = None) -> None:
        """Record ``{key: value}`` at ``step`` in the run's metric history: ``log_metrics({"auc": 0.9}, step=10)``,
        or ``log_metrics(10, {"auc": 0.9})``. Without a step, the one after the last logged."""
        for arg in args:
            if isinstance(arg, Mapping) and metrics is None:
                metrics = arg
            elif isinstance(arg, int) and not isinstance(arg, bool) and step is None:
                step = arg
            else:
                raise TypeError("log_metrics takes a dict of metrics and an optional int step")
        if metrics is None:
            raise TypeError("log_metrics needs a dict of metrics")
        step = self.step + 1 if step is None else step
        await self.registry.query(METRICS, r=self.id, s=step, m=dict(metrics))
        self.step = max(self.step, step)

    async def use(self, ref: Version | str, root: str | Path | None = None) -> Any:
        """Record that this run read a version (lineage: version -> run) and return it: the ``Version``, or
        with ``root`` the directory its files were downloaded (and verified) into."""
        version = await self.registry.resolve(ref.id if isinstance(ref, Version) else ref)
        await self.use_artifact(version.ref)  # the exact version resolved, even if an alias moves meanwhile
        if root is None:
            return version
        return await self.registry.download_version(version, Path(root))

    async def use_artifact(self, ref: Version | str) -> None:
        """Record that this run read an artifact version (lineage: version -> run), without downloading it."""
        await self.registry.query(USE_ARTIFACT, r=self.id, v=ref.ref if isinstance(ref, Version) else ref)

    async def use_dataset(self, namespace: str, name: str, mode: str = "read") -> None:
        """Record an external dataset this run read (``mode="read"``) or wrote (``mode="write"``)."""
        await self.registry.query(USE_DATASET, r=self.id, d={"namespace": namespace, "name": name}, m=mode)

    async def log_artifact(self, source: str | Path | None = None, *, name: str | None = None, type: str,
                           path: str | Path | None = None, metadata: dict[str, Any] | None = None,
                           description: str | None = None, aliases: Sequence[str] | None = None) -> Version:
        """Log a file or directory as the next version of ``name`` in the run's project (the server allows no
        other), with this run as its producer: ``log_artifact("out/", name="classifier", type="model")``, or
        ``log_artifact("classifier", type="model", path="out/")``."""
        if path is None and name is not None:
            path = source  # log_artifact(path, name=...)
        elif name is None and path is not None:
            name = str(source) if source is not None else None  # log_artifact(name, path=...)
        elif source is not None:
            raise TypeError("log_artifact takes the path positionally and name=..., or the name and path=...")
        if name is None or path is None:
            raise BadInput("log_artifact needs both a path (a file or directory) and a name")
        return await self.registry.log_artifact(self.project, name, type=type, path=path, metadata=metadata,
                                                description=description, aliases=aliases, run=self)

    async def finish(self, status: str = "FINISHED", summary: dict[str, Any] | None = None) -> None:
        """End the run as ``FINISHED`` or ``FAILED``, with optional summary metrics."""
        await self.registry.query(FINISH, r=self.id, s=status, m=summary)
        self.finished = True


class Run:
    """Made by ``Registry.start_run``: an ``AsyncRun`` behind blocking calls. As a context manager it finishes
    FINISHED, or FAILED when the block raises (unless ``finish`` was already called)."""

    def __init__(self, portal: Portal, run: AsyncRun, registry: Registry | None = None) -> None:
        self._portal = portal
        self._aio = run
        self._registry = registry  # the blocking Registry: versions logged here answer to it

    def __repr__(self) -> str:
        return f"Run({self.project}/{self.name}, id={self.id})"

    project = property(lambda self: self._aio.project, doc="the run's project")
    id = property(lambda self: self._aio.id, doc="the run's global id")
    name = property(lambda self: self._aio.name, doc="the run's name, unique in its project")
    finished = property(lambda self: self._aio.finished, doc="whether finish() was called")
    step = property(lambda self: self._aio.step, doc="the last step logged (-1: none yet)")

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._portal.call(self._aio.__aexit__(exc_type, exc, tb))

    log_metrics = blocking(AsyncRun.log_metrics)

    def use(self, ref: Version | str, root: str | Path | None = None) -> Any:
        """``AsyncRun.use``, blocking."""
        used = self._portal.call(self._aio.use(ref, root))
        return self._registry.own(used) if isinstance(used, Version) and self._registry is not None else used

    use_artifact = blocking(AsyncRun.use_artifact)
    use_dataset = blocking(AsyncRun.use_dataset)

    def log_artifact(self, *args: Any, **kwargs: Any) -> Version:
        """``AsyncRun.log_artifact``, blocking: the version this run produced."""
        version = self._portal.call(self._aio.log_artifact(*args, **kwargs))
        return self._registry.own(version) if self._registry is not None else version

    finish = blocking(AsyncRun.finish)
