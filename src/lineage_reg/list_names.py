"""The names of the lists the API pages through and of the records it batches, shared by api, services and store.

A list is named once here and defined once in ``store/lists.py``; a resolver
asks for ``ListName.PROJECT_RUNS``, never a string a typo could make up.
"""

from __future__ import annotations

from enum import StrEnum


class ListName(StrEnum):
    """Paged lists: roots (``PROJECTS``, ``EVENTS`` …) and lists hanging off a parent (``PROJECT_RUNS`` …)."""

    PROJECTS = "projects"
    PROJECTS_IN = "projects.in"  # only the projects bound as the list's argument (a non-admin's readable ones)
    PROJECT_RUNS = "project.runs"
    PROJECT_ARTIFACTS = "project.artifacts"
    PROJECT_MODELS = "project.models"
    ARTIFACT_VERSIONS = "artifact.versions"
    VERSION_FILES = "version.files"
    VERSION_USED_BY = "version.usedBy"
    DATASET_READ_BY = "dataset.readBy"
    DATASET_WRITTEN_BY = "dataset.writtenBy"
    MODEL_VERSIONS = "model.versions"
    MODEL_HISTORY = "model.history"
    COMMENTS = "comments"  # one target's comments, oldest first; parent the target key ("v:12", "m:3", "r:7")
    ALIAS_HISTORY = "alias.history"  # one alias's moves (alias.set / alias.removed), parent the collection, arg the alias
    WEBHOOK_DELIVERIES = "webhook.deliveries"
    EVENTS = "events"
    EVENTS_IN = "events.in"  # only the events of the projects bound as the list's argument
    EVENTS_OF_PROJECTS = "events.of_projects"  # every project's events, no registry event (a non-admin's log)


class Batch(StrEnum):
    """Records fetched many keys at a time (the API's DataLoaders)."""

    PROJECTS = "projects"
    COLLECTIONS = "collections"
    VERSIONS = "versions"
    RUNS = "runs"
    DATASETS = "datasets"
    LINKS = "links"
    EVENTS = "events"
    LINKS_OF_VERSIONS = "links_of_versions"
    ALIASES_OF_COLLECTIONS = "aliases_of_collections"
    ALIAS_NAMES = "alias_names"
    METRIC_SUMMARIES = "metric_summaries"  # a version's stored series (evaluation, production, ...)
    RUN_METRIC_SUMMARIES = "run_metric_summaries"  # a run's logged metrics as series (the training source)
    METRIC_RULES = "metric_rules"
    METRIC_RULES_OF_COLLECTIONS = "metric_rules_of_collections"
    COMMENTS = "comments"
    CARDS = "cards"  # by target key ("m:3", "v:12"); a target without a row has the empty card
    PROMOTION_REQUESTS = "promotion_requests"
    REVIEWS_OF_REQUESTS = "reviews_of_requests"
    PENDING_OF_COLLECTIONS = "pending_of_collections"  # stored-PENDING promotion requests per collection
    POLICIES_OF_COLLECTIONS = "policies_of_collections"  # approval policies in force, keyed (project, collection)
