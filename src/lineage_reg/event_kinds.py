"""The kinds of event the log records, and the names of the change channels between processes.

Shared vocabulary: the store writes these kinds, services emit them, the API
filters subscriptions and webhooks by them, so they live below every layer.
"""

from __future__ import annotations

# Events of one project: its readers see them, its webhooks may be sent them.
PROJECT_KINDS = (
    "project.created", "artifact.created", "model.created",
    "version.created", "version.committed", "version.linked", "version.unlinked", "version.deleted",
    "version.abandoned", "alias.set", "alias.removed", "aliases.protected", "tags.changed",
    "run.started", "run.finished", "run.used_artifact", "run.used_dataset",
    "member.added", "member.changed", "member.removed",
    "webhook.created", "webhook.updated", "webhook.deleted",
    "metric_rule.created", "metric_rule.deleted", "metric.breached",
    "approval_policy.set", "approval_policy.removed", "promotion.requested", "promotion.reviewed",
    "promotion.applied", "promotion.rejected", "promotion.cancelled", "promotion.expired", "alias.rolled_back",
    "comment.added", "comment.edited", "comment.deleted", "model.updated", "artifact.updated", "version.updated",
    "card.updated",
)
# The events that move an alias: what aliasAt and aliasHistory read, and what `aliasChanged` streams.
ALIAS_MOVES = ("alias.set", "alias.removed")
# Registry events belong to no project (``project_id`` NULL, ``project`` ""): only a global admin sees them,
# and no webhook (webhooks are per project) is ever sent one.
REGISTRY_KINDS = ("token.created", "token.revoked")
EVENT_KINDS = PROJECT_KINDS + REGISTRY_KINDS

EVENT_CHANNEL = "lineage_reg"  # LISTEN/NOTIFY channel of the PostgreSQL event bus
AUTH_CHANGED = "auth"  # the NOTIFY payload of a transaction that revoked a token or changed a role
