"""Which errors clients see: domain errors and GraphQL's own; everything else is masked."""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from ..errors import RegistryError

MASKED_MESSAGE = "internal error; the server logged the details"


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # syntax and validation errors: the client's own query
    if isinstance(original, GraphQLError) and error.path is None:
        return False  # variables that don't coerce to their declared types: the client's own request
    return not isinstance(original, RegistryError)


def masking() -> MaskErrors:
    return MaskErrors(should_mask_error=should_mask, error_message=MASKED_MESSAGE)
