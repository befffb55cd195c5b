"""The text form of a search (``query:``), for people: ``type:model tag:candidate metric.auc>=0.9 churn``.

Whitespace separates terms; all of them must hold. A term is ``key:value``, ``metadata.PATH OP VALUE``
(``config.`` for runs), ``metric.[SOURCE:]NAME OP NUMBER``, ``created OP DATE`` or a bare word (text). Double
quotes keep spaces in a value (``tag:"two words"``, ``metadata.note="a b"``, ``"two words"``); a quoted metadata
value is always a string, an unquoted one is a number, ``true``/``false``/``null`` when it reads as one. A leading
``-`` negates the keys in ``NEGATABLE``. docs/search.md is the reference; this parser is its only implementation.
A term it cannot read is BAD_INPUT naming its 1-based position and the token.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from .. import refs
from ..errors import BadInput
from ..filters import Created, FilterOp, JsonTerm, Match, MetricTerm, Term

OPS = {"=": FilterOp.EQ, "!=": FilterOp.NE, ">": FilterOp.GT, ">=": FilterOp.GTE, "<": FilterOp.LT,
       "<=": FilterOp.LTE}
_OP = r"(?P<op>!=|>=|<=|=|>|<)"
_VALUE = r'(?P<val>"[^"]*"|[^"\s=!<>]+)'
_KEYED = re.compile(r'(?P<key>[a-z]+):' + _VALUE)
_JSON = re.compile(r"(?P<ns>metadata|config)\.(?P<path>[A-Za-z0-9_\-/]+(?:\.[A-Za-z0-9_\-/]+)*)" + _OP + _VALUE)
_METRIC = re.compile(r"metric\.(?:(?P<source>[A-Za-z0-9_./-]{1,64}):)?(?P<name>[A-Za-z0-9_.:/-]{1,128})" + _OP
                     + r"(?P<val>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_CREATED = re.compile(r"created(?P<op>>=|<=|>|<)(?P<val>\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BARE = re.compile(r'"[^"]*"|[^"\s:=<>!]+')

# Keys each search understands (``key:value``), the field each one matches, and which may be negated.
KEYS = {
    "versions": {"project": "project", "artifact": "artifact", "type": "type", "model": "registeredModel",
                 "alias": "alias", "state": "state", "tag": "tag", "by": "createdBy"},
    "models": {"project": "project", "tag": "tag", "alias": "alias"},
    "runs": {"project": "project", "status": "status", "by": "createdBy"},
}
JSON_NAMESPACE = {"versions": "metadata", "runs": "config"}
METRICS = ("versions", "runs")
NEGATABLE = {"tag", "alias", "type", "artifact", "state", "status", "model", "by", "metadata", "config"}
STATES = ("PENDING", "COMMITTED", "DELETED")
STATUSES = ("RUNNING", "FINISHED", "FAILED")
MAX_QUERY = 2000


def tokens(text: str) -> list[tuple[int, str]]:
    """(1-based position, token) for each whitespace-separated token; quotes keep their spaces."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < len(text) and not text[i].isspace():
            if text[i] == '"':
                end = text.find('"', i + 1)
                if end < 0:
                    raise BadInput(f"query: unclosed quote at {i + 1} in {text[start:][:80]!r}; close it with \"")
                i = end
            i += 1
        out.append((start + 1, text[start:i]))
    return out


def parse(text: str, *, kind: str) -> list[Term]:
    """The terms of a ``query:`` for a search of ``kind`` ("versions", "models" or "runs")."""
    if len(text) > MAX_QUERY:
        raise BadInput(f"query: {len(text)} characters; write at most {MAX_QUERY}")
    return [_term(pos, token, kind) for pos, token in tokens(text)]


def _unquote(value: str) -> str:
    return value[1:-1] if value.startswith('"') else value


def _term(pos: int, token: str, kind: str) -> Term:
    negate = token.startswith("-") and len(token) > 1
    body = token[1:] if negate else token

    def fail(hint: str) -> BadInput:
        return BadInput(f"query: unexpected {token[:80]!r} at {pos}; {hint}")

    def negatable(key: str) -> None:
        if negate and key not in NEGATABLE:
            raise fail(f"'-' negates only {', '.join(sorted(NEGATABLE))}; drop it or write the opposite comparison")

    if m := _KEYED.fullmatch(body):
        key, value = m["key"], _unquote(m["val"])
        if key not in KEYS[kind]:
            raise fail(f"{key}: is not a key here; use one of {', '.join(k + ':' for k in KEYS[kind])}")
        negatable(key)
        field = KEYS[kind][key]
        if field in ("state", "status"):
            allowed = STATES if field == "state" else STATUSES
            if value.upper() not in allowed:
                raise fail(f"{key} is one of {', '.join(s.lower() for s in allowed)}")
            value = value.upper()
        if field == "registeredModel":
            try:
                ref = refs.parse_collection(value)
            except BadInput:
                raise fail("write model:PROJECT/NAME") from None
            value = f"{ref.project}/{ref.name}"
        if not value:
            raise fail(f"write {key}:VALUE")
        return Match(field, (value,), negate)
    namespace = JSON_NAMESPACE.get(kind)
    if namespace and (m := _JSON.fullmatch(body)) and m["ns"] == namespace:
        negatable(namespace)
        raw = m["val"]
        return JsonTerm(tuple(m["path"].split(".")), OPS[m["op"]], _json_value(raw), negate)
    if kind in METRICS and (m := _METRIC.fullmatch(body)):
        negatable("metric")
        return MetricTerm(m["name"], m["source"], OPS[m["op"]], float(m["val"]))
    if m := _CREATED.fullmatch(body):
        negatable("created")
        try:
            at = datetime.fromisoformat(m["val"].replace(" ", "T"))
        except ValueError:
            raise fail("write created>YYYY-MM-DD or created<YYYY-MM-DDTHH:MM:SSZ") from None
        return Created(OPS[m["op"]], at if at.tzinfo else at.replace(tzinfo=UTC))
    if _BARE.fullmatch(body) and not negate:
        return Match("text", (_unquote(body),))
    raise fail(_hint(body, kind, namespace))


def _hint(body: str, kind: str, namespace: str | None) -> str:
    if body.startswith("metric.") and kind in METRICS:
        return "write metric.NAME>=NUMBER (or metric.SOURCE:NAME<NUMBER; = != > >= < <=)"
    if namespace and body.startswith(namespace + "."):
        return f"write {namespace}.PATH=VALUE (= != > >= < <=; quote values with spaces)"
    if body.startswith("created"):
        return "write created>YYYY-MM-DD (> >= < <=)"
    if (key := body.partition(":")[0]) in KEYS[kind]:
        return f"write {key}:VALUE (quote values with spaces)"
    return (f"use a bare word, {', '.join(k + ':VALUE' for k in KEYS[kind])}"
            + (f", {namespace}.PATH=VALUE" if namespace else "")
            + (", metric.NAME>=NUMBER" if kind in METRICS else "") + " or created>YYYY-MM-DD")


def _json_value(raw: str) -> object:
    if raw.startswith('"'):
        return raw[1:-1]
    if raw in ("true", "false", "null"):
        return json.loads(raw)
    if re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    if _NUMBER.fullmatch(raw):
        return float(raw)
    return raw  # inf, nan and other words stay strings
