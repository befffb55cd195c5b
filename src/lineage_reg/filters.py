"""Comparison operators shared by search filters and metric rules.

Shared vocabulary: the API exposes ``FilterOp`` as a GraphQL enum, the query
grammar parses into it, the store turns it into SQL and metric rules evaluate
it in Python with ``holds``. The search terms below are the filter structure a search's typed
filter and its text query both become.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class FilterOp(StrEnum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"
    IN = "IN"  # the value is a list: equal to one of them
    CONTAINS = "CONTAINS"  # a list holds the value, or a string has it as a substring
    EXISTS = "EXISTS"  # the path is present (value true, the default) or absent (value false)


ORDERING = (FilterOp.EQ, FilterOp.NE, FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE)  # ops on one number


def holds(op: FilterOp, observed: Any, value: Any) -> bool:
    """Whether ``observed op value`` holds, for the comparisons a metric rule may use (``ORDERING``)."""
    if op is FilterOp.EQ:
        return bool(observed == value)
    if op is FilterOp.NE:
        return bool(observed != value)
    if op is FilterOp.GT:
        return bool(observed > value)
    if op is FilterOp.GTE:
        return bool(observed >= value)
    if op is FilterOp.LT:
        return bool(observed < value)
    if op is FilterOp.LTE:
        return bool(observed <= value)
    raise ValueError(f"{op} does not compare two numbers")


# Search terms: what a search's typed filter and its text query both become (``services/search_query.py`` parses
# the text form, ``api/types/search.py`` converts the GraphQL inputs, ``store/search.py`` turns each into SQL).
# A search is a list of terms that must all hold; a term with several values holds when any of them does.

MATCH_FIELDS = ("project", "artifact", "type", "registeredModel", "alias", "state", "tag", "createdBy", "text",
                "status")


@dataclass(frozen=True)
class Match:
    """``field`` equals one of ``values`` (``text``: contains one of them, case-insensitive); ``negate``: none."""

    field: str  # one of MATCH_FIELDS
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class JsonTerm:
    """A comparison on a dot path into a JSON column (a version's metadata, a run's config)."""

    path: tuple[str, ...]
    op: FilterOp
    value: Any
    negate: bool = False


@dataclass(frozen=True)
class MetricTerm:
    """The latest value of a metric (``source`` None: evaluation, then production, then training) compared."""

    name: str
    source: str | None
    op: FilterOp
    value: float


@dataclass(frozen=True)
class Created:
    """Created ``op`` (GT, GTE, LT, LTE) ``at``; a time without a zone is UTC, as everywhere else (the store
    refuses naive times: a filter's ``createdBefore: "2026-11-05T21:02:59"`` was an internal error)."""

    op: FilterOp
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            object.__setattr__(self, "at", self.at.replace(tzinfo=UTC))


Term = Match | JsonTerm | MetricTerm | Created


@dataclass(frozen=True)
class OrderKey:
    """One key of a search's order; the row id always breaks ties last."""

    field: str  # "created_at" | "index" | "size" | "metric"
    descending: bool = True
    metric: str | None = None
    source: str | None = None
