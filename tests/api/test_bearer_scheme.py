"""`Authorization: <token>` without `Bearer ` is told the scheme is missing, not that the token is invalid
(issue 16, defect 7): over GraphQL, the OpenLineage endpoint and the WebSocket handshake."""

from __future__ import annotations

import httpx
import pytest

from conftest import Api
from lineage_reg.services.actors import header_problem

pytestmark = pytest.mark.dialects("sqlite")  # authentication happens above the database


def test_the_header_is_read_before_the_token_is_looked_up() -> None:
    assert header_problem(None) is None and header_problem("") is None  # anonymous
    assert header_problem("Bearer lrt_abc") is None and header_problem("bearer  lrt_abc ") is None
    assert "no scheme" in (header_problem("lrt_abc") or "")
    assert "'Token' scheme" in (header_problem("Token lrt_abc") or "")
    assert "no token after Bearer" in (header_problem("Bearer ") or "")
    for header in ("lrt_abc", "Token lrt_abc", "Bearer "):
        assert "Authorization: Bearer <token>" in (header_problem(header) or "")


@pytest.mark.network  # its own HTTP client, headers as sent over the wire
async def test_a_token_without_bearer_is_told_the_scheme_is_missing(api: Api, dialect: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        bare = {"Authorization": api.token or ""}
        body = (await http.post(f"{api.url}/graphql", json={"query": "{ projects { edges { cursor } } }"},
                                headers=bare)).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert "no scheme" in error["message"] and "Authorization: Bearer <token>" in error["message"]
        assert "not valid" not in error["message"]  # it may well be valid: it was only sent the wrong way

        resp = await http.post(f"{api.url}/api/v1/lineage", json={}, headers=bare)
        assert resp.status_code == 401 and "no scheme" in resp.text, resp.text

        # A token sent the right way but unknown is still told it is not valid.
        body = (await http.post(f"{api.url}/graphql", json={"query": "{ projects { edges { cursor } } }"},
                                headers={"Authorization": "Bearer lrt_nonsense"})).json()
        assert "not valid" in body["errors"][0]["message"]
