"""lineage-reg: an ML model registry with a lineage graph, served as a GraphQL API.

    import lineage_reg as lr
    reg = lr.connect()          # the SDK (lineage_reg.client), imported on first use
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Registry

__version__ = "0.1.0"


def connect(url: str | None = None, token: str | None = None, **options: Any) -> Registry:
    """A ``lineage_reg.client.Registry``: ``url`` and ``token`` default to ``LINEAGE_REG_URL`` and
    ``LINEAGE_REG_TOKEN``, then to what ``lineage-reg login`` saved; ``options`` go to ``Registry``."""
    from .client import Registry

    return Registry(url, token, **options)
