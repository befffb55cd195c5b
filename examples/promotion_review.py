"""A reviewed release: CI asks for `production`, a reviewer approves, the deploy bot ships what moved.

    export LINEAGE_REG_URL=http://127.0.0.1:8080
    export LINEAGE_REG_TOKEN=$(cat ~/.local/share/lineage-reg/admin.token)
    .venv/bin/python examples/promotion_review.py

Three actors, in one script so it runs on its own (docs/governance.md):

1. **Setup** (a project admin, first run only): the registered model ``reviewed/fraud`` gets a baseline version
   in ``production``, then an approval policy on ``production`` (``setApprovalPolicy``): from now on nobody moves
   it directly, admins included.
2. **The CI job** (``LINEAGE_REG_TOKEN``; a member's token is enough): logs a new candidate, records its evaluation
   metrics on the version, and asks for ``production`` with the numbers next to production's in the reason
   (``requestPromotion``).
3. **The reviewer** (``LINEAGE_REG_REVIEWER_TOKEN``, a project admin; by default the same token, and then the
   policy allows self-approval so the demo runs with one token) lists the pending requests, reads the reason and
   approves (``reviewPromotion``): the approval moves the alias in its own transaction.
4. **The deploy bot**, subscribed to ``production`` of the model before the review, downloads what moved there.

Each run promotes one new version; ``lineage-reg history reviewed/fraud --alias production`` shows the moves with
the request that made each.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
from pathlib import Path

from lineage_reg.client import AsyncRegistry, Conflict

PROJECT = "reviewed"
MODEL = f"{PROJECT}/fraud"
ALIAS = "production"
HEAD = """query($p: String!, $n: String!) { registeredModel(project: $p, name: $n) {
  history(first: 1) { edges { node { sequence } } } approvalPolicies { alias } } }"""


async def log_candidate(reg: AsyncRegistry, tmp: Path, auc: float) -> str:
    """A new version (fresh stand-in weights), linked into the model, with its evaluation metrics."""
    weights = tmp / f"weights-{random.randrange(10**9)}.bin"
    weights.write_bytes(random.randbytes(32 * 1024))
    version = await reg.log_artifact(PROJECT, "fraud-weights", type="model", path=weights)
    await reg.link(version, MODEL)
    await reg.log_version_metrics(version, {"auc": auc, "recall_at_1pct_fpr": round(auc - 0.3, 3)})
    return version.ref


async def setup(admin: AsyncRegistry, tmp: Path, self_approval: bool) -> int:
    """First run: a baseline in production and the policy. The model's last event sequence (the bot starts there)."""
    try:
        await admin.create_project(PROJECT, "models from examples/promotion_review.py")
    except Conflict:
        pass  # a second run
    coll = MODEL.split("/")
    model = (await admin.query(HEAD, p=coll[0], n=coll[1]))["registeredModel"]
    if model is None or not any(p["alias"] == ALIAS for p in model["approvalPolicies"]):
        baseline = await log_candidate(admin, tmp, auc=0.90)
        await admin.set_alias(MODEL, ALIAS, baseline)
        await admin.set_approval_policy(ALIAS, 1, project=PROJECT, allow_self_approval=self_approval)
        print(f"{MODEL}:{ALIAS} is {baseline}; moving it now needs 1 approval by a project admin", flush=True)
        model = (await admin.query(HEAD, p=coll[0], n=coll[1]))["registeredModel"]
    return int(model["history"]["edges"][0]["node"]["sequence"])


async def ci_job(ci: AsyncRegistry, tmp: Path) -> str:
    live = await ci.resolve(f"{MODEL}:{ALIAS}")
    live_auc = next(s["latest"] for s in await live.metrics(source="evaluation") if s["name"] == "auc")
    auc = round(min(0.99, live_auc + random.uniform(0.005, 0.02)), 4)
    candidate = await log_candidate(ci, tmp, auc)
    request = await ci.request_promotion(MODEL, ALIAS, candidate,
                                         reason=f"auc {auc} on holdout-2026-11 vs {live_auc} for {live.ref}")
    print(f"CI requested {ALIAS} -> {candidate}: request {request['id']} ({request['reason']})", flush=True)
    return str(request["id"])


async def review(reviewer: AsyncRegistry) -> str:
    """Approve what waits for review on the model (a person would read the reason first)."""
    shipped = ""
    async for request in reviewer.promotions(collection=MODEL, states=["PENDING"]):
        done = await reviewer.review(request, comment="numbers check out")
        print(f"reviewer approved {request['id']}: {done['state']}", flush=True)
        shipped = str(done["version"])
    return shipped


async def deploy_bot(bot: AsyncRegistry, after: int, root: Path) -> str:
    """Ship the next version to reach production: download it under ``root``."""
    async for change in bot.watch(MODEL, ALIAS, after=after):
        if change.version is None:
            continue
        target = root / change.version.replace("/", "_").replace(":", "_")
        await bot.download(change.version, root=target)
        print(f"deploy bot shipped {change.version} (was {change.previous}) to {target.name}/", flush=True)
        return change.version
    raise SystemExit("the subscription ended before a move")


async def main() -> None:
    reviewer_token = os.environ.get("LINEAGE_REG_REVIEWER_TOKEN")
    async with AsyncRegistry() as ci, AsyncRegistry(token=reviewer_token) as reviewer:
        with tempfile.TemporaryDirectory() as tmp:
            after = await setup(reviewer, Path(tmp), self_approval=reviewer_token is None)
            bot = asyncio.create_task(deploy_bot(reviewer, after, Path(tmp) / "deployed"))
            await ci_job(ci, Path(tmp))
            approved = await review(reviewer)
            shipped = await asyncio.wait_for(bot, 60)
        assert shipped == approved, (shipped, approved)
        live = await ci.resolve(f"{MODEL}:{ALIAS}")
        print(f"{MODEL}:{ALIAS} is {live.ref}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
