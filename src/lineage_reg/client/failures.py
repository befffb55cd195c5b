"""What the server's refusals mean to the SDK: each becomes the ``lineage_reg.errors`` class of its code."""

from __future__ import annotations

from typing import Any

import httpx

from .. import errors

_ERRORS = {cls.code: cls for cls in errors.RegistryError.__subclasses__()}


class Unreachable(errors.RegistryError):
    """The server could not be reached at all (not running, wrong URL, network down)."""

    code = "UNREACHABLE"


REQUEST_ERRORS = ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED")  # GraphQL's own codes: the request is wrong


def graphql_error(errs: list[dict[str, Any]]) -> errors.RegistryError:
    first = errs[0]
    details = dict(first.get("extensions") or {})
    code = details.pop("code", None)
    details.pop("message", None)
    if code in REQUEST_ERRORS or (code is None and "path" not in first):
        cls: type[errors.RegistryError] = errors.BadInput  # a syntax, validation or variable error in the request
    else:
        cls = _ERRORS.get(str(code), errors.RegistryError)
    message = str(first.get("message", "unknown error"))
    if len(errs) > 1:
        message += f" (and {len(errs) - 1} more error{'s' if len(errs) > 2 else ''})"
    return cls(message, **details)


def transfer_error(resp: httpx.Response, what: str) -> errors.RegistryError:
    """The local store answers errors as GraphQL does ({"errors": [...]}); S3 answers XML. ``resp`` is read."""
    try:
        body = resp.json()
        if isinstance(body, dict) and body.get("errors"):
            exc = graphql_error(body["errors"])
            return type(exc)(f"{what} failed: {exc.message}", **exc.details)
    except ValueError:
        pass
    return errors.RegistryError(f"{what} failed: HTTP {resp.status_code}: {resp.text[:300]}")
