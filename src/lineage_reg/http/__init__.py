"""Plain HTTP endpoints next to GraphQL: blob transfer and health."""
