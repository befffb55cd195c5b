"""Comparison operators shared by search filters and metric rules.

Shared vocabulary: the API exposes ``FilterOp`` as a GraphQL enum, the query
grammar parses into it, the store turns it into SQL and metric rules evaluate
it in Python with ``holds``.
"""

from __future__ import annotations

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
