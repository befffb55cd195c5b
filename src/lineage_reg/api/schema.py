"""The schema: Query, Mutation, Subscription and the extensions that keep it fast and safe."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from .access import ProjectAccess
from .errors import masking, should_mask
from .fanout import FanoutExecutor
from .limits import CheckedParserCache, CheckedValidationCache, QueryLimits, TokenLimit
from .mutations import Mutation
from .queries import Query
from .ratelimit import MutationRateLimit
from .subscriptions import Subscription
from .types.common import DATETIME_SCALAR, JSON, JSON_SCALAR
from .types.events import AliasChange, Event
from .types.artifacts import Artifact, ArtifactVersion
from .types.comments import Comment
from .types.governance import PromotionRequest
from .types.models import ModelLink, RegisteredModel
from .types.projects import Project
from .types.runs import Dataset, Run


class RegistrySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log only what is a bug; a client's bad input or a domain error is its own answer."""
        super().process_errors([e for e in errors if should_mask(e)], execution_context)


def build_schema() -> strawberry.Schema:
    return RegistrySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Every Node implementation, so `node(id:)` can return any of them.
        types=[Project, Run, Dataset, Artifact, ArtifactVersion, RegisteredModel, ModelLink, Event, AliasChange,
               PromotionRequest, Comment],
        # Order matters: each check runs before the work it protects (see limits.py, ratelimit.py).
        extensions=[
            TokenLimit,
            lambda: CheckedParserCache(maxsize=1000),
            QueryLimits,
            lambda: CheckedValidationCache(maxsize=1000),
            MutationRateLimit,
            ProjectAccess,
            masking,
        ],
        execution_context_class=FanoutExecutor,
        scalar_overrides={JSON: JSON_SCALAR, datetime: DATETIME_SCALAR},
    )


schema = build_schema()
