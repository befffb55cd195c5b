"""The lineage-reg Python SDK (sync, httpx). See docs/sdk.md.

    Registry        a connection: runs, logging, links, aliases, resolve, download, query
    Run             a run in progress (Registry.start_run)
    Version, File   what resolve and log_artifact return
    RegistryError   base of every error; one subclass per server error code
    Retry           how transient failures are tried again
    connect         lineage_reg.connect: a Registry from the environment or arguments

``Registry.watch`` yields ``lineage_reg.client.watch.AliasChange`` (imported on first use: websockets).
"""

from .. import connect
from ..errors import (
    BadInput, BlobUnknown, Conflict, DigestInvalid, Forbidden, LimitExceeded, NotFound, RegistryError,
    Unauthenticated, VersionCommitted,
)
from .registry import Registry, Unreachable
from .retry import Retry
from .run import Run
from .version import File, Version

__all__ = [
    "BadInput", "BlobUnknown", "Conflict", "DigestInvalid", "File", "Forbidden", "LimitExceeded", "NotFound",
    "Registry", "RegistryError", "Retry", "Run", "Unauthenticated", "Unreachable", "Version", "VersionCommitted",
    "connect",
]
