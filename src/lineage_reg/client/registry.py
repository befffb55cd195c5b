"""The blocking SDK for scripts and notebooks: ``Registry``, an ``AsyncRegistry`` behind blocking calls.

    from lineage_reg.client import Registry

    with Registry() as reg:                        # LINEAGE_REG_URL, LINEAGE_REG_TOKEN
        with reg.start_run(project="churn", config={"lr": 0.1}) as run:
            run.log_metrics({"loss": 0.4}, step=0)
            version = run.log_artifact("out/", name="classifier", type="model")
        reg.link(version, "churn/churn-model", aliases=["staging"])
        reg.download("churn/churn-model:staging", root="deploy/")

Every method is the ``AsyncRegistry`` method of the same name, run on the registry's own event loop thread
(``portal.py``) while the caller waits: the same arguments, results and errors. Transfers still run
concurrently inside one call.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from .aio import CONCURRENCY, AsyncRegistry
from .portal import Portal, blocking
from .retry import Retry
from .run import Run
from .version import Version

if TYPE_CHECKING:
    from .cache import BlobCache
    from .watch import AliasChange


class Registry:
    """A connection to a lineage-reg server; takes the arguments of ``AsyncRegistry`` (``url``, ``token``,
    ``timeout``, ``progress``, ``retry``, ``concurrency``, ``cache``, ``cache_max_bytes``, ``fsync``, ``verify``,
    ``transport``: an ``httpx.AsyncBaseTransport``). Use it as a context manager, or ``close()`` it."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0,
                 progress: Callable[[int], None] | None = None, retry: Retry | None = None,
                 concurrency: int = CONCURRENCY, cache: bool | str | Path = True,
                 cache_max_bytes: int | None = None, fsync: bool = False,
                 verify: bool | str | Path | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._aio = AsyncRegistry(url, token, timeout=timeout, progress=progress, retry=retry,
                                  concurrency=concurrency, cache=cache, cache_max_bytes=cache_max_bytes,
                                  fsync=fsync, verify=verify, transport=transport)
        self._portal = Portal()

    @property
    def url(self) -> str:
        return self._aio.url

    @property
    def retry(self) -> Retry:
        return self._aio.retry

    @property
    def cache(self) -> BlobCache | None:
        return self._aio.cache

    @property
    def aio(self) -> AsyncRegistry:
        """The async registry underneath (its coroutines must run on this registry's loop: ``portal.loop``)."""
        return self._aio

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if not self._portal.loop.is_closed():
            self._portal.call(self._aio.aclose())
        self._portal.close()

    query = blocking(AsyncRegistry.query)
    create_project = blocking(AsyncRegistry.create_project)

    def start_run(self, project: str, name: str | None = None, config: dict[str, Any] | None = None,
                  git_commit: str | None = None) -> Run:
        """``AsyncRegistry.start_run``, as a blocking ``Run``."""
        return Run(self._portal, self._portal.call(self._aio.start_run(project, name, config, git_commit)), self)

    def own(self, version: Version) -> Version:
        """``version`` answering to this registry: its ``log_metrics``/``metrics`` block like every call here."""
        return replace(version, owner=self)

    def log_artifact(self, *args: Any, **kwargs: Any) -> Version:
        """``AsyncRegistry.log_artifact``; ``run=`` takes a Run (anything with the run's id)."""
        return self.own(self._portal.call(self._aio.log_artifact(*args, **kwargs)))

    def resolve(self, ref: str) -> Version:
        """``AsyncRegistry.resolve``: the version a reference names, with every file."""
        return self.own(self._portal.call(self._aio.resolve(ref)))

    def search_versions(self, query: str | None = None, *, filter: dict[str, Any] | None = None,
                        order_by: str | Sequence[str] | None = None, limit: int | None = None,
                        page_size: int = 50) -> Iterator[Version]:
        """``AsyncRegistry.search_versions`` as a blocking iterator (pages fetched as you iterate)."""
        found = self._aio.search_versions(query, filter=filter, order_by=order_by, limit=limit, page_size=page_size)
        return (self.own(v) for v in self._portal.iterate(found))

    def search_models(self, query: str | None = None, *, filter: dict[str, Any] | None = None,
                      limit: int | None = None, page_size: int = 50) -> Iterator[dict[str, Any]]:
        """``AsyncRegistry.search_models`` as a blocking iterator."""
        return self._portal.iterate(self._aio.search_models(query, filter=filter, limit=limit, page_size=page_size))

    def search_runs(self, query: str | None = None, *, filter: dict[str, Any] | None = None,
                    order_by: str | Sequence[str] | None = None, limit: int | None = None,
                    page_size: int = 50) -> Iterator[dict[str, Any]]:
        """``AsyncRegistry.search_runs`` as a blocking iterator."""
        return self._portal.iterate(self._aio.search_runs(query, filter=filter, order_by=order_by, limit=limit,
                                                          page_size=page_size))

    log_version_metrics = blocking(AsyncRegistry.log_version_metrics)
    log_version_metrics_batch = blocking(AsyncRegistry.log_version_metrics_batch)
    version_metrics = blocking(AsyncRegistry.version_metrics)
    link = blocking(AsyncRegistry.link)
    set_alias = blocking(AsyncRegistry.set_alias)
    remove_alias = blocking(AsyncRegistry.remove_alias)
    compare = blocking(AsyncRegistry.compare)
    download = blocking(AsyncRegistry.download)
    download_version = blocking(AsyncRegistry.download_version)
    add_tags = blocking(AsyncRegistry.add_tags)
    remove_tags = blocking(AsyncRegistry.remove_tags)
    create_webhook = blocking(AsyncRegistry.create_webhook)
    update_webhook = blocking(AsyncRegistry.update_webhook)
    delete_webhook = blocking(AsyncRegistry.delete_webhook)
    ping_webhook = blocking(AsyncRegistry.ping_webhook)
    webhooks = blocking(AsyncRegistry.webhooks)
    deliveries = blocking(AsyncRegistry.deliveries)
    add_member = blocking(AsyncRegistry.add_member)
    remove_member = blocking(AsyncRegistry.remove_member)
    members = blocking(AsyncRegistry.members)

    # governance (docs/governance.md)
    request_promotion = blocking(AsyncRegistry.request_promotion)
    review = blocking(AsyncRegistry.review)
    cancel_promotion = blocking(AsyncRegistry.cancel_promotion)
    set_approval_policy = blocking(AsyncRegistry.set_approval_policy)
    remove_approval_policy = blocking(AsyncRegistry.remove_approval_policy)
    rollback = blocking(AsyncRegistry.rollback)
    update_model = blocking(AsyncRegistry.update_model)
    update_artifact = blocking(AsyncRegistry.update_artifact)
    update_version = blocking(AsyncRegistry.update_version)
    update_card = blocking(AsyncRegistry.update_card)
    card = blocking(AsyncRegistry.card)
    export_card = blocking(AsyncRegistry.export_card)
    comment = blocking(AsyncRegistry.comment)
    edit_comment = blocking(AsyncRegistry.edit_comment)
    delete_comment = blocking(AsyncRegistry.delete_comment)

    def comments(self, target: Version | dict[str, Any] | str, *, limit: int | None = None
                 ) -> Iterator[dict[str, Any]]:
        """``AsyncRegistry.comments`` as a blocking iterator: oldest first."""
        return self._portal.iterate(self._aio.comments(target, limit=limit))

    def alias_at(self, collection: str, alias: str, when: datetime | str) -> Version | None:
        """``AsyncRegistry.alias_at``: the version ``alias`` held at ``when``, or None."""
        found = self._portal.call(self._aio.alias_at(collection, alias, when))
        return None if found is None else self.own(found)

    def promotions(self, *, project: str | None = None, collection: str | None = None,
                   states: Sequence[str] | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """``AsyncRegistry.promotions`` as a blocking iterator."""
        return self._portal.iterate(self._aio.promotions(project=project, collection=collection, states=states,
                                                         limit=limit))

    def alias_history(self, collection: str, alias: str, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """``AsyncRegistry.alias_history`` as a blocking iterator: the moves of one alias, newest first."""
        return self._portal.iterate(self._aio.alias_history(collection, alias, limit=limit))

    def versions(self, collection: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """``AsyncRegistry.versions`` as a blocking iterator: every version of artifact ``project/name``."""
        return self._portal.iterate(self._aio.versions(collection, page_size=page_size))

    def watch(self, collection: str, alias: str | None = None, after: int | None = None) -> Iterator[AliasChange]:
        """``AsyncRegistry.watch`` as a blocking iterator: alias changes of ``project/name`` as they happen."""
        return self._portal.iterate(self._aio.watch(collection, alias, after))

