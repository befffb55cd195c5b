"""Which errors clients see: domain errors and GraphQL's own; everything else is masked.

Outside ``--dev``, GraphQL's own errors lose their "Did you mean …?" hints:
with introspection off, those hints would spell the schema out field by field.
GraphQL's own errors get a code too, as Apollo-style clients expect: a document
that doesn't parse ``GRAPHQL_PARSE_FAILED``, one that doesn't validate against
the schema ``GRAPHQL_VALIDATION_FAILED``.
"""

from __future__ import annotations

from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from ..errors import RegistryError
from .limits import is_dev

MASKED_MESSAGE = "internal error; the server logged the details"
SUGGESTION = " Did you mean "


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # syntax and validation errors: the client's own query
    if isinstance(original, GraphQLError) and error.path is None:
        return False  # variables that don't coerce to their declared types: the client's own request
    return not isinstance(original, RegistryError)


def graphql_code(error: GraphQLError) -> str | None:
    """The code of one of GraphQL's own errors about the document; None for any other error (or one with a code)."""
    if error.original_error is not None or error.path is not None or (error.extensions or {}).get("code"):
        return None  # an error of execution, of the request's variables, or one of ours
    return "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "GRAPHQL_VALIDATION_FAILED"


def coded(error: GraphQLError) -> GraphQLError:
    """A copy with its code, when it is one of GraphQL's own (the original may sit in a cache: never edit it)."""
    code = graphql_code(error)
    if code is None:
        return error
    return GraphQLError(error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=error.original_error,
                        extensions={**(error.extensions or {}), "code": code})


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """A copy without graphql-core's trailing hint (the original may sit in ValidationCache: never edit it)."""
    if SUGGESTION not in error.message or isinstance(error.original_error, RegistryError):
        return error
    return GraphQLError(error.message.split(SUGGESTION)[0], nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, original_error=error.original_error,
                        extensions=error.extensions)


class ErrorPolicy(MaskErrors):
    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = [coded(e) for e in super()._process_errors(errors)]
        if is_dev(self.execution_context.context):
            return processed
        return [without_suggestion(e) for e in processed]


def masking() -> MaskErrors:
    return ErrorPolicy(should_mask_error=should_mask, error_message=MASKED_MESSAGE)
