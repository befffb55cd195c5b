"""All tables, one module per aggregate; importing this registers them on ``metadata``."""

from sqlmodel import SQLModel

from . import auth, cards, comments, events, governance, lineage, metrics, registry, runs, webhooks  # noqa: F401

metadata = SQLModel.metadata
