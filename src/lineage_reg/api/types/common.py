"""Scalars, enums and the Node interface shared by every slice."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

from ... import filters, jsontext
from ...errors import BadInput

__all__ = ["DATETIME_SCALAR", "JSON", "JSON_SCALAR", "LineageDirection", "LineageNodeKind", "Node", "RunStatus",
           "VersionState"]


def _bounded_json(value: Any) -> Any:
    """A JSON argument (config, metadata, ...) as given, if it nests at most jsontext.MAX_DEPTH deep: deeper
    values could be stored, but not read back out of every JSON encoder."""
    return jsontext.check_depth(value, what="a JSON argument")


# strawberry's own JSON scalar (the same name, description and spec URL in schema.graphql), with its inputs
# bounded; literals in the query text go through parse_value too.
_PLAIN_JSON = DEFAULT_SCALAR_REGISTRY[JSON]
JSON_SCALAR = ScalarDefinition(
    name=_PLAIN_JSON.name, description=_PLAIN_JSON.description, specified_by_url=_PLAIN_JSON.specified_by_url,
    serialize=_PLAIN_JSON.serialize, parse_value=_bounded_json, parse_literal=None,
)


_PLAIN_DATETIME = DEFAULT_SCALAR_REGISTRY[datetime]


def _datetime(value: Any) -> datetime:
    """An ISO 8601 date-time (``asOf``, ...), parsed by strawberry's own parser, whose refusal showed the
    parser's ``int()`` error to the client: refused here in a sentence with an example."""
    try:
        return _PLAIN_DATETIME.parse_value(value)  # type: ignore[no-any-return]
    except (StrawberryInputCoercionError, OverflowError):
        raise BadInput(f"{str(value)[:64]!r} is not a date-time: write it in ISO 8601, e.g. 2026-12-03T10:15:00Z "
                       "or 2026-12-03") from None


DATETIME_SCALAR = ScalarDefinition(
    name=_PLAIN_DATETIME.name, description=_PLAIN_DATETIME.description, specified_by_url=None,
    serialize=_PLAIN_DATETIME.serialize, parse_value=_datetime, parse_literal=None,
)


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.enum
class RunStatus(Enum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


@strawberry.enum
class VersionState(Enum):
    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    DELETED = "DELETED"


@strawberry.enum
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum
class LineageNodeKind(Enum):
    RUN = "RUN"
    ARTIFACT_VERSION = "ARTIFACT_VERSION"
    DATASET = "DATASET"


FilterOp = strawberry.enum(
    filters.FilterOp,
    description="How a filter or a metric rule compares: EQ NE GT GTE LT LTE on one value, IN a list of values, "
    "CONTAINS (a list holds the value, a string has it as a substring), EXISTS (the path is present; value false: "
    "absent).",
)
