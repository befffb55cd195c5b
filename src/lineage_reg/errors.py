"""The domain's errors. Each carries the ``extensions.code`` clients see.

    RegistryError
     ├── NotFound          NOT_FOUND          a named thing does not exist
     ├── Conflict          CONFLICT           a name is taken / state clash
     ├── BadInput          BAD_INPUT          malformed or invalid input
     ├── VersionCommitted  VERSION_COMMITTED  a committed version is immutable
     ├── DigestInvalid     DIGEST_INVALID     bytes don't match sha256/size
     ├── BlobUnknown       BLOB_UNKNOWN       commit names a blob never uploaded
     ├── LimitExceeded     LIMIT_EXCEEDED     a bound (page size, depth) exceeded
     ├── Unauthenticated   UNAUTHENTICATED    no or bad token
     ├── Forbidden         FORBIDDEN          token lacks the role
     └── ApprovalRequired  APPROVAL_REQUIRED  an approval policy governs the alias

Anything else raised inside the server is a bug and is masked before it
reaches a client. Messages say what was wrong and how to fix it.
"""

from __future__ import annotations


class RegistryError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, object]:
        """What GraphQL clients see under ``extensions`` (graphql-core copies it)."""
        return {"code": self.code, **self.details}


class NotFound(RegistryError):
    code = "NOT_FOUND"


def not_found_or_unreadable(what: str) -> NotFound:
    """The one answer for a thing that doesn't exist *and* for one in a project the caller may not read:
    telling the two apart would let anyone with a token probe what another project holds."""
    return NotFound(f"{what} not found, or this token may not read its project; check the name, or ask an "
                    "admin of the project for a role there (addMember)")


class Conflict(RegistryError):
    code = "CONFLICT"


class BadInput(RegistryError):
    code = "BAD_INPUT"


class VersionCommitted(RegistryError):
    code = "VERSION_COMMITTED"


class DigestInvalid(RegistryError):
    code = "DIGEST_INVALID"


class BlobUnknown(RegistryError):
    code = "BLOB_UNKNOWN"


class LimitExceeded(RegistryError):
    code = "LIMIT_EXCEEDED"


class Unauthenticated(RegistryError):
    code = "UNAUTHENTICATED"


class Forbidden(RegistryError):
    code = "FORBIDDEN"


class ApprovalRequired(RegistryError):
    """An alias under an approval policy moves only through an approved promotion request (or a rollback)."""

    code = "APPROVAL_REQUIRED"


class Overflow(Exception):
    """A bus subscriber fell more than its queue limit behind (the bus raises it, a subscription catches it).

    Not a ``RegistryError``: no client sees it as such; a WebSocket subscriber is disconnected with a close
    reason that says where to resume (docs/events.md)."""
