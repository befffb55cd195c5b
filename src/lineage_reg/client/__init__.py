"""The lineage-reg Python SDK (httpx, async inside). See docs/sdk.md.

    Registry        a connection: runs, logging, links, aliases, resolve, download, query (blocking calls)
    Run             a run in progress (Registry.start_run)
    AsyncRegistry   the same, for async code: every method a coroutine (versions and watch async iterators)
    AsyncRun        a run in progress (AsyncRegistry.start_run)
    Version, File   what resolve and log_artifact return
    RegistryError   base of every error; one subclass per server error code
    Retry           how transient failures are tried again
    connect         lineage_reg.connect: a Registry from the environment or arguments

``watch`` yields ``lineage_reg.client.watch.AliasChange`` (imported on first use: websockets).
"""

from .. import connect
from ..errors import (
    ApprovalRequired, BadInput, BlobUnknown, Conflict, DigestInvalid, Forbidden, LimitExceeded, NotFound, RegistryError,
    Unauthenticated, VersionCommitted,
)
from .aio import AsyncRegistry
from .failures import Unreachable
from .registry import Registry
from .retry import Retry
from .run import AsyncRun, Run
from .version import File, Version

__all__ = [
    "ApprovalRequired", "AsyncRegistry", "AsyncRun", "BadInput", "BlobUnknown", "Conflict", "DigestInvalid", "File", "Forbidden", "LimitExceeded", "NotFound",
    "Registry", "RegistryError", "Retry", "Run", "Unauthenticated", "Unreachable", "Version", "VersionCommitted",
    "connect",
]
