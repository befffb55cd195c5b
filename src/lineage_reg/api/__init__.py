"""HTTP → GraphQL. Imports services, never the store."""
