"""What a GraphQL request may cost, checked before it is validated or run (docs/security.md, "Limits").

- ``TokenLimit``: at most ``MAX_TOKENS`` lexical tokens, counted on the query text before it is parsed.
- ``QueryLimits``, right after parsing and before graphql-core's validation (itself super-linear in repeated
  fields): depth, fields once fragments are inlined, repeats of one field in one selection set, aliases,
  introspection outside ``--dev``, several operations without ``operationName``, and the estimated cost
  against ``LINEAGE_REG_MAX_QUERY_COST``. All are measured in time linear in the document (``measure.py``).

strawberry's QueryDepthLimiter and MaxAliasesLimiter add a fresh validation
rule per request, which makes every request miss ValidationCache (validation
then costs ~2 ms a request). Here the checks are cached: the token count on
the query text, the rest on the parsed document, which ParserCache hands back
as the same object for the same query text (the cost also on the page-size
variables). Every refusal is ``LIMIT_EXCEEDED`` (introspection, ambiguous
operations: ``BAD_INPUT``) and nothing of the request runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLError, GraphQLSchema, Lexer, OperationDefinitionNode,
    Source, TokenKind, parse,
)
from graphql.error import GraphQLSyntaxError
from graphql.validation.validate import ValidationAbortedError
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.exceptions import CannotGetOperationTypeError

from ..config import Settings
from ..services import lineage as lineage_service
from ..services import lists
from . import measure

MAX_TOKENS = 2000
MAX_DEPTH = 15
MAX_ALIASES = 50
# Field selections once every fragment spread is inlined (the 2,000 tokens of a document without fragments
# select at most ~1,000): bounds what a document can expand to through fragments spread inside fragments.
MAX_FIELDS = 5000
# Fields with one response name in one selection set, fragments inlined: graphql-core's validation compares
# those pairwise (and their sub-selections), so this bounds its quadratic part.
MAX_REPEATS = 10
# graphql-core's own bound on that comparison work (its default, 500,000 steps, is ~1.2 s here; every document
# the SDK, CLI, examples and tests send takes < 500): past it validation stops, answered as LIMIT_EXCEEDED.
OVERLAP_BUDGET = 5000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = OVERLAP_BUDGET


# Digits of an integer literal: GraphQL's Int is 32-bit (10 digits); past 4,300 Python's int() refuses the text.
MAX_INT_DIGITS = 100


def token_count(query: str, limit: int = MAX_TOKENS) -> int:
    """Lexical tokens in ``query`` (comments excluded), counted up to ``limit + 1``; a syntax error ends the
    count early (the parser reports it)."""
    return _lexed(query, limit)[0]


@lru_cache(maxsize=1000)
def _lexed(query: str, limit: int = MAX_TOKENS) -> tuple[int, int]:
    """(tokens counted as ``token_count`` does, digits of the longest integer literal among them)."""
    lexer = Lexer(Source(query))
    count = longest = 0
    try:
        while count <= limit and (token := lexer.advance()).kind != TokenKind.EOF:
            count += 1
            if token.kind == TokenKind.INT:
                longest = max(longest, len(token.value or ""))
    except GraphQLError:
        pass
    return count, longest


@lru_cache(maxsize=1000)
def check(document: DocumentNode) -> tuple[GraphQLError, ...]:
    """The limits that depend on the document alone (cached with it): depth, expansion, repeats, aliases."""
    errors = []
    for operation, shape in _shapes(document).items():
        name = operation.name.value if operation.name else "anonymous"
        if shape.depth > MAX_DEPTH:
            errors.append(_limit(f"'{name}' is {shape.depth} levels deep; at most {MAX_DEPTH} are allowed"))
        if shape.fields > MAX_FIELDS:
            errors.append(_limit(
                f"'{name}' selects {shape.fields} fields once its fragments are inlined; at most {MAX_FIELDS} "
                "are allowed: spread each fragment where it is needed, not repeatedly"))
        if shape.repeats > MAX_REPEATS:
            errors.append(_limit(
                f"'{name}' selects one field {shape.repeats} times in one selection set (fragments inlined); at "
                f"most {MAX_REPEATS} are allowed: select it once"))
    if (aliases := _aliases(document)) > MAX_ALIASES:
        errors.append(_limit(f"{aliases} field aliases in one document; at most {MAX_ALIASES} are allowed"))
    return tuple(errors)


def introspects(document: DocumentNode) -> bool:
    """Whether an operation asks for ``__schema`` or ``__type``, through fragments too (``__typename`` is fine).
    A fragment no operation spreads is a validation error of its own."""
    return any(shape.introspects for shape in _shapes(document).values())


_shapes = lru_cache(maxsize=1000)(measure.shapes)
_page_variables = lru_cache(maxsize=1000)(measure.page_variables)  # a walk of the document: once per document


def _limit(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED"})


def _aliases(document: DocumentNode) -> int:
    """Aliases as written (each definition once): an alias spread twice is still one alias to read."""
    count = 0
    stack = [d.selection_set for d in document.definitions
             if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))]
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FieldNode):
                count += sel.alias is not None
            if (below := getattr(sel, "selection_set", None)) is not None:
                stack.append(below)
    return count


def is_dev(context: object) -> bool:
    """Development mode (``--dev``) of the server running this request; anything unknown is production."""
    settings = getattr(getattr(context, "rt", None), "settings", None)
    return getattr(settings, "dev", False) is True


# Stands in for a document refused unparsed, so strawberry parses nothing and answers the refusal.
UNPARSED = parse("{ __typename }")


class TokenLimit(SchemaExtension):
    """Must come before CheckedParserCache: it refuses a document before it is parsed.

    The refusal is set as the pre-execution errors (raising would answer HTTP the same, but over a WebSocket
    strawberry would only log it): the parser cache, the other checks and validation then leave it alone."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        count, digits = _lexed(ctx.query) if ctx.query else (0, 0)
        if count > MAX_TOKENS:
            ctx.pre_execution_errors = [_limit(f"the document has more than {MAX_TOKENS} tokens (counted {count} "
                                               "before stopping); split it into smaller operations")]
        elif digits > MAX_INT_DIGITS:
            ctx.pre_execution_errors = [GraphQLError(
                f"an integer literal of {digits} digits: GraphQL's Int holds 32 bits; send large numbers as "
                "strings or Float", extensions={"code": "BAD_INPUT"})]
        if ctx.pre_execution_errors:
            ctx.graphql_document = UNPARSED
        yield


class CheckedParserCache(ParserCache):
    """ParserCache that leaves a document TokenLimit refused unparsed, and answers one that doesn't parse as
    TokenLimit answers its refusals (pre-execution errors: a syntax error raised from here would skip the
    other extensions, the error policy that gives it its GRAPHQL_PARSE_FAILED code among them)."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.pre_execution_errors:
            yield
            return
        try:
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        except GraphQLSyntaxError as error:
            from .errors import coded  # errors.py reads is_dev from here

            ctx.pre_execution_errors = [coded(error)]
            ctx.graphql_document = UNPARSED
        yield


class AmbiguousOperation(CannotGetOperationTypeError):
    """Several operations and no ``operationName``: GraphQL over HTTP makes that a request error (400), not a
    licence to run the first one. A subclass of strawberry's own, so HTTP and WebSocket answer it as they answer
    an ``operationName`` that names nothing."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(None)
        self.names = names

    def as_http_error_reason(self) -> str:
        return (f"the document holds {len(self.names)} operations ({', '.join(self.names)}); say which one to run "
                "with operationName")


def sizes_for(context: object) -> tuple[measure.Sizes, int]:
    """The page sizes a query's lists are costed at, and the budget, from the server's settings."""
    settings = getattr(getattr(context, "rt", None), "settings", None) or Settings()
    sizes = measure.Sizes(default_page=lists.DEFAULT_PAGE, max_page=settings.max_page_size,
                          max_limit=lineage_service.MAX_LIMIT, default_list=lists.DEFAULT_PAGE)
    return sizes, settings.max_query_cost


@lru_cache(maxsize=1000)
def _costs(schema: GraphQLSchema, document: DocumentNode, sizes: measure.Sizes,
           pages: tuple[tuple[str, int | None], ...]) -> tuple[tuple[str, int], ...]:
    found = measure.costs(schema, document, dict(pages), sizes)
    return tuple((op.name.value if op.name else "anonymous", cost) for op, cost in found.items())


def cost_errors(schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None,
                context: object) -> list[GraphQLError]:
    """Operations whose estimated cost (docs/api.md, "Query cost") is over the budget."""
    sizes, budget = sizes_for(context)
    given = variables if isinstance(variables, Mapping) else {}
    pages = tuple(sorted((name, v if isinstance(v, int) and not isinstance(v, bool) else None)
                         for name in _page_variables(document) if (v := given.get(name)) is not None))
    return [GraphQLError(
        f"'{name}' would cost about {cost:,} (each field resolved counts 1, times the page sizes of the lists "
        f"above it); the budget is {budget:,} per request (LINEAGE_REG_MAX_QUERY_COST): ask for smaller pages "
        "(`first`, `limit`), nest fewer lists, and page through the rest with `after`",
        extensions={"code": "LIMIT_EXCEEDED", "cost": cost, "budget": budget})
        for name, cost in _costs(schema, document, sizes, pages) if cost > budget]


class QueryLimits(SchemaExtension):
    """Must come right after ParserCache and before ValidationCache: graphql-core's validation is itself
    super-linear in repeated and overlapping fields (``OverlappingFieldsCanBeMergedRule``: 0.35 s for 200
    copies of one field here), so a document is measured, linearly, before anything else looks at it.

    A refusal is set as the pre-execution errors; ``CheckedValidationCache`` then skips validation, and
    strawberry answers them (HTTP and WebSocket alike) without running anything. Several operations without
    ``operationName`` are refused here too, before validation.
    """

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.pre_execution_errors:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            # strawberry keeps the operationName the request gave apart from the one it would pick itself.
            if len(operations) > 1 and getattr(ctx, "_provided_operation_name", None) is None:
                raise AmbiguousOperation([op.name.value if op.name else "(anonymous)" for op in operations])
            errors = list(check(document))
            if not errors and introspects(document) and not is_dev(ctx.context):
                errors.append(GraphQLError(
                    "introspection is off on this server: the schema is published as schema.graphql "
                    "(`lineage-reg export-schema`); development servers (`lineage-reg serve --dev`) allow it",
                    extensions={"code": "BAD_INPUT"}))
            if not errors:
                errors = cost_errors(ctx.schema._schema, document, ctx.variables, ctx.context)
            if errors:
                ctx.pre_execution_errors = errors
        yield


class CheckedValidationCache(ValidationCache):
    """ValidationCache that leaves a document QueryLimits refused alone: nothing expensive runs on it."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if not ctx.pre_execution_errors:
            errors = self.cached_validate_document(ctx.schema._schema, ctx.graphql_document, ctx.validation_rules)
            ctx.pre_execution_errors = [_explained(e) for e in errors]
        yield


def _explained(error: GraphQLError) -> GraphQLError:
    """graphql-core's "Validation aborted." as a sentence that says which bound and what to do."""
    if not isinstance(error, ValidationAbortedError):
        return error
    return _limit("the document repeats fields so often that checking them would take too long (their "
                  f"comparisons pass {OVERLAP_BUDGET:,}); select each field once per selection set")
