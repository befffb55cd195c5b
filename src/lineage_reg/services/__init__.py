"""Registry operations, one module per aggregate. They own transactions and write events.

Every operation is a keyword-only async function taking the ``Runtime`` first.
Nothing here knows about GraphQL: the API, the CLI and tests call the same functions.
"""
