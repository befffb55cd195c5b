"""Global object ids (``Node.id``) and opaque cursors.

A global id is base64url of ``<Type>:<row id>``; clients must treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii

from .errors import BadInput

MAX_ROW_ID = 2**63 - 1  # what both databases' BIGINT holds: a larger number can name no row
TYPES = ("Project", "Run", "Dataset", "Artifact", "ArtifactVersion", "RegisteredModel", "ModelLink", "Event",
         "Webhook", "WebhookDelivery", "MetricRule", "PromotionRequest", "Comment")


def encode(type_name: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{row_id}".encode()).decode().rstrip("=")


def decode(global_id: str, *expected: str) -> tuple[str, int]:
    """Return (type, row id); ``expected`` narrows the accepted types."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, row = raw.partition(":")
        row_id = int(row)
        if not 0 <= row_id <= MAX_ROW_ID:
            raise ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"invalid id {global_id[:80]!r}: pass an id returned by the API") from None
    if type_name not in TYPES or (expected and type_name not in expected):
        want = " or ".join(expected) if expected else "a known type"
        raise BadInput(f"id {global_id!r} is a {type_name or 'malformed id'}, expected {want}")
    return type_name, row_id


def decode_as(global_id: str, type_name: str) -> int:
    return decode(global_id, type_name)[1]


def looks_like_id(text: str) -> bool:
    """True when ``text`` decodes to a global id rather than a reference."""
    if "/" in text or ":" in text or "@" in text:
        return False
    try:
        decode(text)
    except BadInput:
        return False
    return True


def encode_cursor(key: int | str) -> str:
    raw = f"k:{key}" if isinstance(key, int) else f"s:{key}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, key = raw.partition(":")
        if prefix == "k" and 0 <= (number := int(key)) <= MAX_ROW_ID:
            return number
        if prefix == "s":
            return key
        raise ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"invalid cursor {cursor[:80]!r}: pass a cursor returned by the API") from None


def sequence(after: float) -> int:
    """An event sequence number given as ``after`` (GraphQL Float: sequences outgrow 32-bit Int)."""
    if not 0 <= after <= MAX_ROW_ID or after != int(after):  # NaN and infinities fail the first test
        raise BadInput(f"after must be an event's sequence number (a whole number from 0 up, as Event.sequence "
                       f"gives it), not {after!r}")
    return int(after)
