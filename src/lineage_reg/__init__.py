"""lineage-reg: an ML model registry with a lineage graph, served as a GraphQL API."""

__version__ = "0.1.0"
