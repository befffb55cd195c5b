"""Which errors clients see: domain errors and GraphQL's own; everything else is masked.

Outside ``--dev``, GraphQL's own errors lose their "Did you mean …?" hints:
with introspection off, those hints would spell the schema out field by field.
"""

from __future__ import annotations

from graphql.error import GraphQLError
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


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """A copy without graphql-core's trailing hint (the original may sit in ValidationCache: never edit it)."""
    if SUGGESTION not in error.message or isinstance(error.original_error, RegistryError):
        return error
    return GraphQLError(error.message.split(SUGGESTION)[0], nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, original_error=error.original_error,
                        extensions=error.extensions)


class ErrorPolicy(MaskErrors):
    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        if is_dev(self.execution_context.context):
            return processed
        return [without_suggestion(e) for e in processed]


def masking() -> MaskErrors:
    return ErrorPolicy(should_mask_error=should_mask, error_message=MASKED_MESSAGE)
