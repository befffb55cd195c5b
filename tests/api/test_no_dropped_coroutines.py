"""No resolver coroutine is dropped unawaited when a refused field nulls its parent (issue 16, defect 2).

graphql-core creates a field's coroutine as soon as it reaches the field and gathers siblings with cancellation:
when one fails (a refused non-null field), the others' tasks are cancelled, some before their first step, and
the coroutines those held (sub-fields' resolvers, list items) were never started. The cyclic GC finalised them
at a random later moment: "coroutine ... was never awaited", or KeyError '__import__' when that happened inside
a namedtuple's __new__ (test_project_access failed ~1 run in 3). The executor (api/fanout.py SettlingExecutor)
now closes what was abandoned once the work is settled.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import warnings

import pytest

from conftest import Api
from lineage_reg.api.fanout import SettlingExecutor
from lineage_reg.api.schema import schema
from lineage_reg.services import actors
from support.two_projects import roots, seed, user

pytestmark = pytest.mark.dialects("sqlite")  # the executor's doing, whatever the database


@pytest.fixture(autouse=True)
def fresh_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actors, "CACHE_SECONDS", 0.0)


def test_the_registry_schema_executes_with_the_settling_executor() -> None:
    assert issubclass(schema.execution_context_class, SettlingExecutor)  # type: ignore[arg-type]


async def test_refusals_in_deep_answers_leave_no_coroutine_unawaited(api: Api, dialect: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rt = api.server.runtime
    monkeypatch.setattr(rt, "settings", dataclasses.replace(rt.settings, max_query_cost=10**9))
    ids = await seed(api)
    eve = await user(api, "eve", "open", "member")  # refused field by field in every object of `secret`
    depth = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(8)  # the server runs in this process: say where a dropped one began
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                for _root, text in roots(ids):
                    await eve.raw("query { " + text + " }")
            for _ in range(3):
                gc.collect()
    finally:
        sys.set_coroutine_origin_tracking_depth(depth)
    dropped = [str(w.message) for w in caught if "was never awaited" in str(w.message)]
    assert dropped == [], f"{len(dropped)} coroutines dropped, the first: {dropped[0] if dropped else ''}"
