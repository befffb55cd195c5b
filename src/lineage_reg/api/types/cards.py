"""The ModelCard type: a registered model's or a version's card (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ...records import ModelCardRec
from ...services import cards as card_service
from ...services import comments as comment_service
from ..context import Info
from .common import JSON


@strawberry.type(description="Markdown (returned as text: render it safely) plus structured fields, following the "
                 "Hugging Face model-card metadata keys where one exists. Never set: empty, updatedAt null.")
class ModelCard:
    markdown: str
    fields: JSON
    updated_at: datetime | None
    updated_by: str | None
    _rec: strawberry.Private[ModelCardRec]

    @classmethod
    def of(cls, rec: ModelCardRec) -> ModelCard:
        return cls(markdown=rec.markdown, fields=rec.fields,  # type: ignore[arg-type]  # the JSON scalar is a dict
                   updated_at=rec.updated_at, updated_by=rec.updated_by, _rec=rec)


async def card_of(info: Info, type_name: str, row_id: int, project_id: int) -> ModelCard:
    key = comment_service.target_key(type_name, row_id)
    found = await info.context.loaders.card.load(key)
    return ModelCard.of(found or card_service.empty(key, project_id))
