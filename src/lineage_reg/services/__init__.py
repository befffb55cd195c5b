"""Registry operations, one module per aggregate. They own transactions and write events.

Every operation is an async function taking the ``Runtime`` first and everything else by keyword, with no
exceptions (not even one obvious argument: ``write(rt, actor=..., work=...)``); tests/services/
test_service_signatures.py pins it.
Nothing here knows about GraphQL: the API, the CLI and tests call the same functions.
"""
