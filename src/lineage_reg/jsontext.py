"""JSON a client sent, decoded: anything malformed is ``BadInput`` with a sentence that names the problem.

Python's ``json`` fails on hostile input in ways that are not ``JSONDecodeError``:
invalid UTF-8 (``UnicodeDecodeError``), nesting past the interpreter's recursion
limit (``RecursionError``), an integer of more than 4,300 digits (``ValueError``),
and it accepts ``NaN``/``Infinity``, which JSON does not have. Each of those was
a 500 once. Every endpoint that reads a JSON body (``/graphql``,
``/api/v1/lineage``, ``/files/batch``) decodes it here, and GraphQL's ``JSON``
scalar checks its values' nesting with the same bound.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .errors import BadInput

MAX_DEPTH = 64  # arrays and objects inside each other in a JSON value: a GraphQL JSON argument (docs/security.md)
# A whole body wraps such values in a few levels of its own (body, variables, an input object, a list of them).
BODY_DEPTH = MAX_DEPTH + 8


def _no_constant(name: str) -> Any:
    raise BadInput(f"{name} is not a JSON value; send numbers as finite decimals")


# One decoder for every call: json.loads with an argument builds a new JSONDecoder (and its scanner) each time.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def loads(data: bytes | bytearray | str, *, what: str = "the request body") -> Any:
    """The JSON value of ``data`` (UTF-8, RFC 8259), nested at most ``BODY_DEPTH`` deep."""
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{what} is not valid UTF-8 (byte {exc.start} is not part of a UTF-8 character); "
                           "send JSON encoded as UTF-8") from None
    else:
        text = data
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise BadInput(f"{what} nests arrays and objects deeper than {BODY_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError:  # int(): more digits than the interpreter converts
        raise BadInput(f"{what} holds an integer of more than {sys.get_int_max_str_digits()} digits; "
                       "send large numbers as strings") from None
    return check_depth(value, what=what, limit=BODY_DEPTH)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays/objects nest more than ``limit`` deep in ``value`` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def check_depth(value: Any, *, what: str, limit: int = MAX_DEPTH) -> Any:
    """``value`` itself, if it nests at most ``limit`` deep."""
    if too_deep(value, limit):
        raise BadInput(f"{what} nests arrays and objects deeper than {limit} levels")
    return value


def flatten(data: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}: nested config compares key by key."""
    flat: dict[str, Any] = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
