"""What a query asks for below the field being resolved, so resolvers can skip work nobody reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from .context import Info


def selects(info: Info, *path: str) -> bool:
    """Whether the query selects the field at ``path`` below the current one, directly or through fragments."""
    return any(_selects(field.selections, path) for field in info.selected_fields)


def _selects(selections: Sequence[Any], path: Sequence[str]) -> bool:
    if not path:
        return True
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            if _selects(selection.selections, path):
                return True
        elif isinstance(selection, SelectedField) and selection.name == path[0] and _selects(selection.selections, path[1:]):
            return True
    return False
