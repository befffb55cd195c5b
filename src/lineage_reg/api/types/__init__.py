"""GraphQL object types, one module per slice; each maps plain records to types."""
