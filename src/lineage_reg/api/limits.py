"""Token, depth and alias limits, and introspection outside ``--dev``: checked once per distinct document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter add a fresh validation
rule per request, which makes every request miss ValidationCache (validation
then costs ~2 ms a request). Here the checks are cached: the token count on
the query text (before it is parsed: an oversized document is never parsed
whole), the rest on the parsed document, which ParserCache hands back as the
same object for the same query text. Every refusal is ``LIMIT_EXCEEDED``
(introspection: ``BAD_INPUT``) before anything executes.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError,
    InlineFragmentNode, Lexer, OperationDefinitionNode, SelectionSetNode, Source, TokenKind,
)
from strawberry.extensions import SchemaExtension

MAX_TOKENS = 2000
MAX_DEPTH = 15
MAX_ALIASES = 50
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@lru_cache(maxsize=1000)
def token_count(query: str, limit: int = MAX_TOKENS) -> int:
    """Lexical tokens in ``query`` (comments excluded), counted up to ``limit + 1``; a syntax error ends the
    count early (the parser reports it)."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count <= limit and lexer.advance().kind != TokenKind.EOF:
            count += 1
    except GraphQLError:
        pass
    return count


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
def introspects(document: DocumentNode) -> bool:
    """Whether the document asks for ``__schema`` or ``__type`` anywhere (``__typename`` is fine)."""
    def walk(selection_set: SelectionSetNode | None) -> bool:
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode) and (sel.name.value in INTROSPECTION_FIELDS or walk(sel.selection_set)):
                return True
            if isinstance(sel, InlineFragmentNode) and walk(sel.selection_set):
                return True
        return False

    return any(walk(d.selection_set) for d in document.definitions
               if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode)))


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


def is_dev(context: object) -> bool:
    """Development mode (``--dev``) of the server running this request; anything unknown is production."""
    settings = getattr(getattr(context, "rt", None), "settings", None)
    return getattr(settings, "dev", False) is True


class TokenLimit(SchemaExtension):
    """Must come before ParserCache: it refuses a document before it is parsed."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query and (count := token_count(query)) > MAX_TOKENS:
            # Raised, not returned: strawberry answers it as the request's only error, with no data.
            raise GraphQLError(f"the document has more than {MAX_TOKENS} tokens (counted {count} before "
                               "stopping); split it into smaller operations", extensions={"code": "LIMIT_EXCEEDED"})
        yield


class QueryLimits(SchemaExtension):
    """Must come after ValidationCache: it adds to the errors that extension has just set.

    strawberry reads ``pre_execution_errors`` before the validation hooks resume
    after their ``yield``, so the check runs before it.
    """

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:
            yield
            return
        errors = list(check(document))
        if introspects(document) and not is_dev(ctx.context):
            errors.append(GraphQLError(
                "introspection is off on this server: the schema is published as schema.graphql "
                "(`lineage-reg export-schema`); development servers (`lineage-reg serve --dev`) allow it",
                extensions={"code": "BAD_INPUT"}))
        if errors:
            ctx.pre_execution_errors = [*(ctx.pre_execution_errors or []), *errors]
        yield
