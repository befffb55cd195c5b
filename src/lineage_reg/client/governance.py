"""Governance for the SDK: promotion requests and reviews, approval policies, rollback, alias history.

``AsyncRegistry`` inherits these methods (``Registry`` wraps them, blocking). A
promotion request comes back as a dict with the fields of ``REQUEST_FIELDS``
(``version`` and ``previous`` as refs); see docs/governance.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from .. import errors
from .version import VERSION_FIELDS, Version

if TYPE_CHECKING:
    from .aio import AsyncRegistry

REQUEST_FIELDS = ("id collection alias state reason requestedBy requestedAt requiredApprovals decidedAt expiresAt "
                  "version { ref } previous { ref } reviews { reviewer decision comment at }")
POLICY_FIELDS = "alias requiredApprovals approverRole allowSelfApproval expiresAfterHours scope"
REQUEST = (f"mutation($c: String!, $a: String!, $v: String!, $r: String) {{ requestPromotion(collection: $c, "
           f"alias: $a, version: $v, reason: $r) {{ {REQUEST_FIELDS} }} }}")
REVIEW = (f"mutation($id: ID!, $d: ReviewDecision!, $m: String) {{ reviewPromotion(request: $id, decision: $d, "
          f"comment: $m) {{ {REQUEST_FIELDS} }} }}")
CANCEL = f"mutation($id: ID!) {{ cancelPromotion(request: $id) {{ {REQUEST_FIELDS} }} }}"
REQUESTS = (f"query($p: String, $c: String, $s: [PromotionState!], $n: Int, $a: String) {{ promotionRequests("
            f"project: $p, collection: $c, states: $s, first: $n, after: $a) {{ edges {{ node {{ {REQUEST_FIELDS} }} }} "
            "pageInfo { hasNextPage endCursor } } }")
SET_POLICY = (f"mutation($a: String!, $n: Int!, $p: String, $c: String, $r: String!, $s: Boolean!, $h: Int) {{ "
              f"setApprovalPolicy(alias: $a, requiredApprovals: $n, project: $p, collection: $c, approverRole: $r, "
              f"allowSelfApproval: $s, expiresAfterHours: $h) {{ {POLICY_FIELDS} }} }}")
REMOVE_POLICY = ("mutation($a: String!, $p: String, $c: String) { removeApprovalPolicy(alias: $a, project: $p, "
                 "collection: $c) }")
ROLLBACK = ("mutation($c: String!, $a: String!, $r: String!) { rollbackAlias(collection: $c, alias: $a, reason: $r) "
            "{ name version { ref } } }")
ALIAS_AT = (f"query($c: String!, $a: String!, $t: DateTime!) {{ aliasAt(collection: $c, alias: $a, at: $t) "
            f"{{ {VERSION_FIELDS} }} }}")
UPDATE_MODEL = ("mutation($m: String!, $d: String, $n: String) { updateRegisteredModel(model: $m, description: $d, "
                "name: $n) { name description } }")
UPDATE_ARTIFACT = ("mutation($a: String!, $d: String) { updateArtifact(artifact: $a, description: $d) "
                   "{ name description } }")
UPDATE_VERSION = ("mutation($v: String!, $d: String, $m: JSON) { updateArtifactVersion(version: $v, description: $d, "
                  "metadata: $m) { ref description metadata } }")
CARD_FIELDS = "markdown fields updatedAt updatedBy"
UPDATE_CARD = (f"mutation($t: ID!, $md: String, $f: JSON) {{ updateModelCard(target: $t, markdown: $md, fields: $f) "
               f"{{ {CARD_FIELDS} }} }}")
CARD = (f"query($id: ID!) {{ node(id: $id) {{ ... on RegisteredModel {{ card {{ {CARD_FIELDS} }} }} "
        f"... on ArtifactVersion {{ card {{ {CARD_FIELDS} }} }} }} }}")
EXPORT_CARD = "query($r: String!, $f: CardFormat!) { exportModelCard(ref: $r, format: $f) }"
COMMENT_FIELDS = "id author text at editedAt target"
ADD_COMMENT = f"mutation($t: ID!, $x: String!) {{ addComment(target: $t, text: $x) {{ {COMMENT_FIELDS} }} }}"
EDIT_COMMENT = f"mutation($id: ID!, $x: String!) {{ editComment(id: $id, text: $x) {{ {COMMENT_FIELDS} }} }}"
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) }"
COMMENTS = (f"query($id: ID!, $n: Int, $a: String) {{ node(id: $id) {{ ... on ArtifactVersion {{ comments(first: $n, "
            f"after: $a) {{ ...page }} }} ... on RegisteredModel {{ comments(first: $n, after: $a) {{ ...page }} }} "
            f"... on PromotionRequest {{ comments(first: $n, after: $a) {{ ...page }} }} }} }} "
            f"fragment page on CommentConnection {{ edges {{ node {{ {COMMENT_FIELDS} }} }} "
            "pageInfo { hasNextPage endCursor } }")
HISTORY = ("query($c: String!, $al: String!, $n: Int, $a: String) { aliasHistory(collection: $c, alias: $al, "
           "first: $n, after: $a) { edges { node { at actor rollback reason version { ref } previous { ref } "
           "event { kind sequence } request { id } } } pageInfo { hasNextPage endCursor } } }")


def _flat(node: dict[str, Any]) -> dict[str, Any]:
    """``version { ref }`` → ``version: "p/a:v3"``: a request or move as a script reads it."""
    out = dict(node)
    for key in ("version", "previous"):
        if key in out:
            out[key] = (out[key] or {}).get("ref")
    if "request" in out:
        out["request"] = (out["request"] or {}).get("id")
    return out


def _id(request: dict[str, Any] | str) -> str:
    return request["id"] if isinstance(request, dict) else request


def _when(when: datetime | str) -> str:
    if isinstance(when, datetime):
        return when.isoformat()
    return when


class GovernanceCalls:
    """The governance half of ``AsyncRegistry`` (``self`` is one: these are its methods)."""

    if TYPE_CHECKING:  # what AsyncRegistry provides
        async def query(self, text: str, /, **variables: Any) -> dict[str, Any]: ...
        async def _tag_target(self, target: Version | str) -> str: ...
        def _search(self, text: str, field: str, limit: int | None, page_size: int,
                    **variables: Any) -> AsyncIterator[dict[str, Any]]: ...
        async def _all_files(self, version: Version, page: dict[str, Any]) -> None: ...

    async def request_promotion(self, collection: str, alias: str, version: Version | str, *,
                                reason: str | None = None) -> dict[str, Any]:
        """Ask for ``alias`` of ``collection`` (``project/name``) to move to ``version`` (a ``Version``, ref or
        id); for a registered model the version must be linked into it. Returns the PENDING request."""
        ref = version.ref if isinstance(version, Version) else version
        data = await self.query(REQUEST, c=collection, a=alias, v=ref, r=reason)
        return _flat(data["requestPromotion"])

    async def review(self, request: dict[str, Any] | str, *, approve: bool = True,
                     comment: str | None = None) -> dict[str, Any]:
        """Approve (or, ``approve=False``, reject) a request (its dict or id). The approval that reaches the
        policy's number moves the alias; the returned request's ``state`` says APPLIED then."""
        data = await self.query(REVIEW, id=_id(request), d="APPROVE" if approve else "REJECT", m=comment)
        return _flat(data["reviewPromotion"])

    async def cancel_promotion(self, request: dict[str, Any] | str) -> dict[str, Any]:
        """Withdraw a PENDING request: your own, or any as a project admin."""
        return _flat((await self.query(CANCEL, id=_id(request)))["cancelPromotion"])

    async def promotions(self, *, project: str | None = None, collection: str | None = None,
                         states: Sequence[str] | None = None, limit: int | None = None,
                         page_size: int = 50) -> AsyncIterator[dict[str, Any]]:
        """Promotion requests, newest first, of a project, a collection, or all you can read; ``states``
        narrows them (``["PENDING"]``)."""
        wanted = [s.upper() for s in states] if states else None
        async for node in self._search(REQUESTS, "promotionRequests", limit, page_size, p=project, c=collection,
                                       s=wanted):
            yield _flat(node)

    async def set_approval_policy(self, alias: str, required_approvals: int, *,
                                  project: str | None = None, collection: str | None = None,
                                  approver_role: str = "admin", allow_self_approval: bool = False,
                                  expires_after_hours: int | None = None) -> dict[str, Any]:
        """Project admin: moves of ``alias`` in ``project`` (or one ``collection``) need approval."""
        data = await self.query(SET_POLICY, a=alias, n=required_approvals, p=project, c=collection,
                                r=approver_role, s=allow_self_approval, h=expires_after_hours)
        return dict(data["setApprovalPolicy"])

    async def remove_approval_policy(self, alias: str, *, project: str | None = None,
                                     collection: str | None = None) -> None:
        await self.query(REMOVE_POLICY, a=alias, p=project, c=collection)

    async def rollback(self, collection: str, alias: str, *, reason: str) -> str:
        """Move ``alias`` back to the version it held before its last move; returns that version's ref."""
        data = await self.query(ROLLBACK, c=collection, a=alias, r=reason)
        return str(data["rollbackAlias"]["version"]["ref"])

    async def alias_at(self, collection: str, alias: str, when: datetime | str) -> Version | None:
        """The version ``alias`` held at ``when`` (a datetime, or ISO 8601 text; no zone means UTC), or None."""
        node = (await self.query(ALIAS_AT, c=collection, a=alias, t=_when(when)))["aliasAt"]
        if node is None:
            return None
        version = Version.of(node, cast("AsyncRegistry", self))
        await self._all_files(version, node["files"]["pageInfo"])
        return version

    async def alias_history(self, collection: str, alias: str, *, limit: int | None = None,
                            page_size: int = 50) -> AsyncIterator[dict[str, Any]]:
        """Every move of one alias, newest first: ``at actor version previous rollback reason request event``."""
        async for node in self._search(HISTORY, "aliasHistory", limit, page_size, c=collection, al=alias):
            yield _flat(node)

    # --- comments ---

    async def _comment_target(self, target: Version | dict[str, Any] | str) -> str:
        """A version (``Version`` or ref), a registered model (``p/name``), a promotion request (its dict), or an
        id of any of them."""
        if isinstance(target, dict):
            return str(target["id"])
        if isinstance(target, str) and "/" not in target:
            return target  # an id
        return await self._tag_target(target)

    async def comment(self, target: Version | dict[str, Any] | str, text: str) -> dict[str, Any]:
        """Comment on a version, registered model or promotion request (a viewer may). Returns the comment:
        ``id author text at editedAt target``."""
        data = await self.query(ADD_COMMENT, t=await self._comment_target(target), x=text)
        return dict(data["addComment"])

    async def edit_comment(self, comment: dict[str, Any] | str, text: str) -> dict[str, Any]:
        return dict((await self.query(EDIT_COMMENT, id=_id(comment), x=text))["editComment"])

    async def delete_comment(self, comment: dict[str, Any] | str) -> None:
        await self.query(DELETE_COMMENT, id=_id(comment))

    async def comments(self, target: Version | dict[str, Any] | str, *, limit: int | None = None,
                       page_size: int = 50) -> AsyncIterator[dict[str, Any]]:
        """A target's comments, oldest first."""
        target_id = await self._comment_target(target)
        left, after = limit, None
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            node = (await self.query(COMMENTS, id=target_id, n=size, a=after))["node"]
            if node is None or "comments" not in node:
                raise errors.NotFound(f"nothing to comment on with id {target_id}")
            conn = node["comments"]
            for edge in conn["edges"]:
                yield dict(edge["node"])
            if left is not None:
                left -= len(conn["edges"])
            if not conn["pageInfo"]["hasNextPage"]:
                return
            after = conn["pageInfo"]["endCursor"]

    # --- editable annotations ---

    async def update_model(self, model: str, *, description: str | None = None,
                           name: str | None = None) -> dict[str, Any]:
        """Describe or rename a registered model (``project/name``); returns its ``name`` and ``description``."""
        return dict((await self.query(UPDATE_MODEL, m=model, d=description, n=name))["updateRegisteredModel"])

    async def update_artifact(self, artifact: str, *, description: str) -> dict[str, Any]:
        return dict((await self.query(UPDATE_ARTIFACT, a=artifact, d=description))["updateArtifact"])

    async def update_version(self, version: Version | str, *, description: str | None = None,
                             metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """A version's description and/or metadata (replaced whole); its files never change."""
        ref = version.ref if isinstance(version, Version) else version
        return dict((await self.query(UPDATE_VERSION, v=ref, d=description, m=metadata))["updateArtifactVersion"])

    # --- model cards ---

    async def update_card(self, target: Version | str, *, markdown: str | None = None,
                          fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """Replace the card of a registered model (``p/name``) or a version (a ``Version`` or ref): its markdown
        and/or fields (Hugging Face card metadata keys); returns the card."""
        data = await self.query(UPDATE_CARD, t=await self._comment_target(target), md=markdown, f=fields)
        return dict(data["updateModelCard"])

    async def card(self, target: Version | str) -> dict[str, Any]:
        """The card: ``markdown fields updatedAt updatedBy`` (empty, updatedAt None, when never set)."""
        node = (await self.query(CARD, id=await self._comment_target(target)))["node"]
        if node is None or "card" not in node:
            raise errors.NotFound(f"no registered model or version {target!r} to read a card of")
        return dict(node["card"])

    async def export_card(self, ref: Version | str, format: str = "huggingface") -> str:
        """The card as a document: ``"huggingface"`` (README.md with YAML front matter filled from lineage and
        evaluation metrics) or ``"markdown"`` (as written). ``ref``: any version reference, e.g. p/model:production."""
        wanted = {"huggingface": "HUGGINGFACE", "hf": "HUGGINGFACE", "markdown": "MARKDOWN"}.get(format.lower())
        if wanted is None:
            raise errors.BadInput(f"format is huggingface (hf) or markdown, got {format!r}")
        text = ref.ref if isinstance(ref, Version) else ref
        return str((await self.query(EXPORT_CARD, r=text, f=wanted))["exportModelCard"])
