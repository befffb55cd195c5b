"""Records fetched many keys at a time, one statement per batch: what the API's DataLoaders call.

Each ``Batch`` names one store function taking a list of keys and answering a
dict keyed by them; keys with nothing stored are simply absent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from ..list_names import Batch
from . import approvals, cards, comments, events, links, metrics, projects, promotions, runs, versions
from .db import Conn

BATCHES: dict[Batch, Callable[[Conn, Sequence[Any]], Awaitable[dict[Any, Any]]]] = {
    Batch.PROJECTS: projects.projects_by_id,
    Batch.COLLECTIONS: projects.collections_by_id,
    Batch.VERSIONS: versions.versions_by_id,
    Batch.RUNS: runs.runs_by_id,
    Batch.DATASETS: runs.datasets_by_id,
    Batch.LINKS: links.links_by_id,
    Batch.EVENTS: events.events_by_id,
    Batch.LINKS_OF_VERSIONS: links.links_of_versions,
    Batch.ALIASES_OF_COLLECTIONS: links.aliases_of_collections,
    Batch.ALIAS_NAMES: links.alias_names_of,
    Batch.METRIC_SUMMARIES: metrics.summaries_of,
    Batch.RUN_METRIC_SUMMARIES: metrics.run_summaries,
    Batch.METRIC_RULES: metrics.rules_by_id,
    Batch.METRIC_RULES_OF_COLLECTIONS: metrics.rules_of_collections,
    Batch.COMMENTS: comments.by_id,
    Batch.CARDS: cards.of_targets,
    Batch.PROMOTION_REQUESTS: promotions.by_id,
    Batch.REVIEWS_OF_REQUESTS: promotions.reviews_of,
    Batch.PENDING_OF_COLLECTIONS: promotions.pending_of_collections,
    Batch.POLICIES_OF_COLLECTIONS: approvals.effective_of_collections,
}

assert set(BATCHES) == set(Batch), "every Batch needs a store function"


async def read_batch(conn: Conn, kind: Batch, keys: Sequence[Hashable]) -> dict[Any, Any]:
    return await BATCHES[kind](conn, keys)
