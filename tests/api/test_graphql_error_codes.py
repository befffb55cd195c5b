"""GraphQL's own errors carry a code like every other error (issue 16, defect 3): a document that does not
validate against the schema GRAPHQL_VALIDATION_FAILED, one that does not parse GRAPHQL_PARSE_FAILED; over HTTP
and over a WebSocket subscription alike."""

from __future__ import annotations

import pytest

from conftest import Api
from support.ws import connected

pytestmark = pytest.mark.dialects("sqlite")  # decided before any database is asked

CASES = [
    ('{ resolve(ref: "churn/classifier:v0") { reff } }', "GRAPHQL_VALIDATION_FAILED",
     "Cannot query field 'reff' on type 'ArtifactVersion'"),
    ("{ projects(first: 1) { edges { cursor } }", "GRAPHQL_PARSE_FAILED", "Syntax Error"),
]
SUBSCRIPTION_CASES = [
    ("subscription { events { kindd } }", "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'kindd' on type 'Event'"),
    ("subscription { events { kind }", "GRAPHQL_PARSE_FAILED", "Syntax Error"),
]


async def test_validation_and_parse_errors_have_a_code_over_http(api: Api, dialect: str) -> None:
    for query, code, message in CASES:
        body = await api.raw(query)
        [error] = body["errors"]
        assert error["extensions"] == {"code": code}, (query, error)
        assert message in error["message"]


@pytest.mark.network
async def test_validation_and_parse_errors_have_a_code_over_a_websocket(api: Api, dialect: str) -> None:
    async with connected(api, api.token) as sock:
        for n, (query, code, message) in enumerate(SUBSCRIPTION_CASES):
            await sock.send({"id": str(n), "type": "subscribe", "payload": {"query": query}})
            answer = await sock.receive()
            assert answer["type"] == "error" and answer["id"] == str(n), answer
            [error] = answer["payload"]
            assert error["extensions"] == {"code": code}, (query, error)
            assert message in error["message"]
