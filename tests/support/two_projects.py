"""Two projects, "secret" and "open", seeded so that each kind of thing of "secret" is reachable from "open"
(a shared dataset, a cross-project link, a run using a secret version), users with a role in one of them, and
every root query field with a deep selection: what the access tests walk to prove nothing of a project leaks."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, Undefined, get_named_type

from conftest import Api
from support.versions import log_version

async def seed(api: Api) -> dict[str, Any]:
    for name in ("secret", "open"):
        await api('mutation($n: String!) { createProject(name: $n) { id } }', n=name)
    secret_run = (await api('mutation { startRun(input: {project: "secret", name: "secret-train", '
                            'config: {note: "s3cr3t-meta"}}) { id } }'))["startRun"]["id"]
    await api('mutation($r: ID!) { useDataset(run: $r, dataset: {namespace: "s3://lake", name: "shared"}) '
              '{ id } }', r=secret_run)
    await api("mutation($r: ID!) { logMetrics(run: $r, step: 1, metrics: {s3cr3t_meta: 1}) }", r=secret_run)
    secret_v = await log_version(api, {"hush.bin": b"secret-weights"}, project="secret", artifact="secret-model",
                                 run=secret_run, aliases=["production"])
    await api('mutation { linkVersion(input: {version: "secret/secret-model:v0", registeredModel: "secret/secret-model-prod", '
              'aliases: ["production"]}) { id } }')
    open_run = (await api('mutation { startRun(input: {project: "open", name: "open-train"}) { id } }'))["startRun"]["id"]
    await api('mutation($r: ID!) { useArtifact(run: $r, version: "secret/secret-model:v0") { id } }', r=open_run)
    await api('mutation($r: ID!) { useDataset(run: $r, dataset: {namespace: "s3://lake", name: "shared"}) '
              '{ id } }', r=open_run)
    open_v = await log_version(api, {"model.bin": b"open-weights"}, project="open", artifact="open-model", run=open_run)
    await api('mutation { linkVersion(input: {version: "secret/secret-model:v0", registeredModel: "open/shared-registry"}) '
              '{ id } }')
    await api('mutation { linkVersion(input: {version: "open/open-model:v0", registeredModel: "open/shared-registry", '
              'aliases: ["production"]}) { id } }')
    dataset = (await api('{ dataset(namespace: "s3://lake", name: "shared") { id } }'))["dataset"]["id"]
    secret_model = (await api('{ registeredModel(project: "secret", name: "secret-model-prod") { id '
                              'versions { edges { node { id } } } } }'))["registeredModel"]
    await api('mutation { setApprovalPolicy(collection: "secret/secret-model-prod", alias: "release", '
              "requiredApprovals: 1) { alias } }")
    secret_request = (await api('mutation { requestPromotion(collection: "secret/secret-model-prod", '
                                'alias: "release", version: "secret/secret-model:v0", reason: "s3cr3t-meta") { id } }')
                      )["requestPromotion"]["id"]
    secret_comment = (await api('mutation($r: ID!) { addComment(target: $r, text: "s3cr3t-meta: ask Bob") { id } }',
                                r=secret_request))["addComment"]["id"]
    await api('mutation($v: ID!) { addComment(target: $v, text: "s3cr3t-meta on the version") { id } }', v=secret_v["id"])
    return {"secret_comment": secret_comment, "secret_request": secret_request, "secret_run": secret_run, "secret_version": secret_v["id"], "open_run": open_run,
            "open_version": open_v["id"], "dataset": dataset, "secret_model": secret_model["id"],
            "secret_link": secret_model["versions"]["edges"][0]["node"]["id"]}


async def user(api: Api, name: str, project: str | None = None, role: str | None = None) -> Api:
    token = await api.token_for("user", name)
    if project is not None:
        await api('mutation($p: String!, $u: String!, $r: String!) { addMember(project: $p, user: $u, role: $r) '
                  "{ user } }", p=project, u=name, r=role)
    return api.as_token(token)


def selection(type_: Any, depth: int, seen: tuple[str, ...] = ()) -> str:
    """Every field of ``type_`` that needs no argument, ``depth`` levels down (connections through edges/node)."""
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = []
    for name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined for arg in field.args.values()):
            continue
        child = get_named_type(field.type)
        if isinstance(child, GraphQLObjectType):
            if depth == 0 or (child.name in seen and not child.name.endswith(("Connection", "Edge"))):
                continue
            inner = selection(child, depth - (0 if child.name.endswith(("Connection", "Edge")) else 1),
                              (*seen, named.name))
            if inner:
                parts.append(f"{name} {{ {inner} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def roots(ids: dict[str, Any]) -> list[tuple[str, str]]:
    from lineage_reg.api.schema import schema

    query_type = schema._schema.query_type
    assert query_type is not None

    def sel(field: str, depth: int = 3) -> str:
        return selection(query_type.fields[field].type, depth)

    typed = {"secret_run": "Run", "secret_version": "ArtifactVersion", "secret_model": "RegisteredModel",
             "secret_link": "ModelLink", "secret_request": "PromotionRequest", "secret_comment": "Comment"}
    asks = [("node", f'node(id: "{ids[key]}") {{ id ... on {t} {{ {selection(schema._schema.type_map[t], 2)} }} }}')
            for key, t in typed.items()]
    asks += [
        ("projects", f"projects {{ {sel('projects')} }}"),
        ("project", f'project(name: "secret") {{ {sel("project")} }}'),
        ("project", f'project(name: "open") {{ {sel("project")} }}'),
        ("run", f'run(id: "{ids["secret_run"]}") {{ {sel("run")} }}'),
        ("run", f'run(id: "{ids["open_run"]}") {{ {sel("run")} }}'),
        ("artifact", f'artifact(project: "secret", name: "secret-model") {{ {sel("artifact")} }}'),
        ("registeredModel", f'registeredModel(project: "secret", name: "secret-model-prod") '
                            f'{{ {sel("registeredModel")} }}'),
        ("registeredModel", f'registeredModel(project: "open", name: "shared-registry") '
                            f'{{ {sel("registeredModel")} }}'),
        ("resolve", f'resolve(ref: "secret/secret-model:production") {{ {sel("resolve")} }}'),
        ("resolve", f'resolve(ref: "open/open-model:v0") {{ {sel("resolve")} }}'),
        ("lineage", f'lineage(node: "{ids["open_run"]}", depth: 10) {{ {sel("lineage")} }}'),
        ("lineage", f'lineage(node: "{ids["dataset"]}", depth: 10) {{ {sel("lineage")} }}'),
        ("lineage", f'lineage(node: "{ids["secret_version"]}") {{ {sel("lineage")} }}'),
        ("impact", f'impact(node: "{ids["dataset"]}") {{ {sel("impact")} }}'),
        ("impactPaths", f'impactPaths(node: "{ids["dataset"]}") {{ {sel("impactPaths")} }}'),
        ("lineagePath", f'lineagePath(from: "{ids["open_run"]}", to: "{ids["secret_version"]}") '
                        f'{{ {sel("lineagePath")} }}'),
        ("events", f"events(first: 100) {{ {sel('events')} }}"),
        ("events", f'events(project: "secret") {{ {sel("events")} }}'),
        ("dataset", f'dataset(namespace: "s3://lake", name: "shared") {{ {sel("dataset")} }}'),
        ("compareVersions", f'compareVersions(refs: ["open/open-model:v0", "secret/secret-model:v0"]) '
                            f'{{ {sel("compareVersions")} }}'),
        ("members", 'members(project: "secret") { user role }'),
        ("webhooks", 'webhooks(project: "secret") { id url }'),
        ("searchVersions", f"searchVersions {{ {sel('searchVersions')} }}"),
        ("searchVersions", f'searchVersions(query: "secret") {{ {sel("searchVersions")} }}'),
        ("searchRegisteredModels", f"searchRegisteredModels {{ {sel('searchRegisteredModels')} }}"),
        ("searchRuns", f"searchRuns {{ {sel('searchRuns')} }}"),
        ("promotionRequests", f"promotionRequests {{ {sel('promotionRequests')} }}"),
        ("exportModelCard", 'exportModelCard(ref: "secret/secret-model:v0")'),
        ("exportModelCard", 'exportModelCard(ref: "open/open-model:v0")'),  # its run used a secret version
        ("promotionRequests", f'promotionRequests(project: "secret") {{ {sel("promotionRequests")} }}'),
        ("aliasAt", f'aliasAt(collection: "open/shared-registry", alias: "latest", at: "2100-01-01T00:00:00Z") '
                    f'{{ {sel("aliasAt")} }}'),
        ("aliasAt", f'aliasAt(collection: "secret/secret-model-prod", alias: "production", '
                    f'at: "2100-01-01T00:00:00Z") {{ {sel("aliasAt")} }}'),
        # latest of the shared registry moved from the secret version to open's: the secret one is refused.
        ("aliasHistory", f'aliasHistory(collection: "open/shared-registry", alias: "latest") '
                         f'{{ {sel("aliasHistory")} }}'),
        ("aliasHistory", f'aliasHistory(collection: "secret/secret-model-prod", alias: "production") '
                         f'{{ {sel("aliasHistory")} }}'),
    ]
    covered = {name for name, _ in asks}
    missing = set(query_type.fields) - covered - {"deliveries"}  # deliveries: by webhook id; tested in webhooks
    assert not missing, f"root fields the walk doesn't take: {missing}"
    return asks
