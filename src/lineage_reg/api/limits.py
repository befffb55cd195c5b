"""Query depth and alias limits, checked once per distinct document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter add a fresh validation
rule per request, which makes every request miss ValidationCache (validation
then costs ~2 ms a request). Here the check is cached on the parsed document,
which ParserCache hands back as the same object for the same query text.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError,
    InlineFragmentNode, OperationDefinitionNode, SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

MAX_DEPTH = 15
MAX_ALIASES = 50


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
           seen: frozenset[str]) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            deepest = max(deepest, 1 + _depth(sel.selection_set, fragments, seen) if sel.selection_set else 1)
        elif isinstance(sel, InlineFragmentNode):
            deepest = max(deepest, _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                deepest = max(deepest, _depth(frag.selection_set, fragments, seen | {sel.name.value}))
    return deepest


def _aliases(document: DocumentNode) -> int:
    count = 0

    def walk(selection_set: SelectionSetNode | None) -> None:
        nonlocal count
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                count += sel.alias is not None
                walk(sel.selection_set)
            elif isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set)

    for definition in document.definitions:
        if isinstance(definition, (OperationDefinitionNode, FragmentDefinitionNode)):
            walk(definition.selection_set)
    return count


@lru_cache(maxsize=1000)
def check(document: DocumentNode) -> tuple[GraphQLError, ...]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    errors = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            depth = _depth(definition.selection_set, fragments, frozenset())
            if depth > MAX_DEPTH:
                name = definition.name.value if definition.name else "anonymous"
                errors.append(GraphQLError(f"'{name}' is {depth} levels deep; at most {MAX_DEPTH} are allowed",
                                           extensions={"code": "LIMIT_EXCEEDED"}))
    if (aliases := _aliases(document)) > MAX_ALIASES:
        errors.append(GraphQLError(f"{aliases} field aliases in one document; at most {MAX_ALIASES} are allowed",
                                   extensions={"code": "LIMIT_EXCEEDED"}))
    return tuple(errors)


class QueryLimits(SchemaExtension):
    """Must come after ValidationCache: it adds to the errors that extension has just set.

    strawberry reads ``pre_execution_errors`` before the validation hooks resume
    after their ``yield``, so the check runs before it.
    """

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and (errors := check(ctx.graphql_document)):
            ctx.pre_execution_errors = [*(ctx.pre_execution_errors or []), *errors]
        yield
