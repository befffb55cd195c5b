"""The one parser for names and references users type.

    churn                      a project
    churn/classifier           a collection (artifact or registered model)
    churn/classifier:v3        a version by index
    churn/classifier:latest    a version by alias (any alias)
    churn/classifier@3fa9c1    a version by digest prefix (>= 6 hex chars)

The API, the SDK and the CLI all parse through here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from .errors import BadInput

PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
INDEX_RE = re.compile(r"v(0|[1-9][0-9]{0,8})")
RESERVED_ALIAS_RE = re.compile(r"v[0-9]+")  # looks like an index: never an alias
SHA256_RE = re.compile(r"[0-9a-f]{64}")
DIGEST_PREFIX_RE = re.compile(r"[0-9a-f]{6,64}")
TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
MIN_DIGEST_PREFIX = 6


def check_project_name(name: str) -> str:
    if not PROJECT_RE.fullmatch(name):
        raise BadInput(
            f"invalid project name {name!r}: use 1-128 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_name(name: str, what: str = "name") -> str:
    if not NAME_RE.fullmatch(name):
        raise BadInput(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: str) -> str:
    if not ALIAS_RE.fullmatch(alias) or RESERVED_ALIAS_RE.fullmatch(alias):
        raise BadInput(
            f"invalid alias {alias!r}: use 1-64 lowercase letters, digits, '.', '_' or '-'; "
            "'v<number>' is reserved for version indices"
        )
    return alias


def check_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise BadInput(f"invalid tag {tag!r}: use 1-64 letters, digits, '.', '_', ':', '/' or '-'")
    return tag


def check_sha256(value: str) -> str:
    if not SHA256_RE.fullmatch(value):
        raise BadInput(f"invalid sha256 {value!r}: expected 64 lowercase hex characters")
    return value


def check_file_path(path: str) -> str:
    """A relative POSIX path inside a version's directory; no escaping it."""
    bad = (
        not path
        or len(path) > 1024
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or posixpath.normpath(path) != path
        or any(part in ("..", ".") for part in path.split("/"))
    )
    if bad:
        raise BadInput(
            f"invalid file path {path!r}: use a relative path with '/' separators, "
            "no '..', '.', empty or absolute parts"
        )
    return path


@dataclass(frozen=True)
class CollectionRef:
    project: str
    name: str

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"


@dataclass(frozen=True)
class VersionRef:
    project: str
    name: str
    index: int | None = None
    alias: str | None = None
    digest_prefix: str | None = None

    @property
    def collection(self) -> CollectionRef:
        return CollectionRef(self.project, self.name)

    def __str__(self) -> str:
        if self.index is not None:
            return f"{self.project}/{self.name}:v{self.index}"
        if self.alias is not None:
            return f"{self.project}/{self.name}:{self.alias}"
        return f"{self.project}/{self.name}@{self.digest_prefix}"


_HOW = "write 'project/name:v3', 'project/name:alias' or 'project/name@digestprefix'"


def parse_collection(text: str) -> CollectionRef:
    project, sep, name = text.partition("/")
    if not sep:
        raise BadInput(f"invalid collection {text!r}: write 'project/name'")
    return CollectionRef(check_project_name(project), check_name(name))


def parse_version_ref(text: str) -> VersionRef:
    if "@" in text:
        head, _, digest = text.rpartition("@")
        collection = _collection_part(text, head)
        if not DIGEST_PREFIX_RE.fullmatch(digest):
            raise BadInput(f"invalid reference {text!r}: a digest prefix is 6-64 lowercase hex characters")
        return VersionRef(collection.project, collection.name, digest_prefix=digest)
    head, sep, selector = text.rpartition(":")
    if not sep:
        raise BadInput(f"invalid reference {text!r}: {_HOW}")
    collection = _collection_part(text, head)
    return parse_selector(collection, selector, text)


def parse_selector(collection: CollectionRef, selector: str, text: str | None = None) -> VersionRef:
    """``v3``, an alias, or ``@digest`` within a known collection."""
    if selector.startswith("@"):
        digest = selector[1:]
        if not DIGEST_PREFIX_RE.fullmatch(digest):
            raise BadInput(f"invalid reference {selector!r}: a digest prefix is 6-64 lowercase hex characters")
        return VersionRef(collection.project, collection.name, digest_prefix=digest)
    if m := INDEX_RE.fullmatch(selector):
        return VersionRef(collection.project, collection.name, index=int(m.group(1)))
    if ALIAS_RE.fullmatch(selector) and not RESERVED_ALIAS_RE.fullmatch(selector):
        return VersionRef(collection.project, collection.name, alias=selector)
    raise BadInput(f"invalid reference {text or selector!r}: {_HOW}")


def _collection_part(text: str, head: str) -> CollectionRef:
    project, sep, name = head.partition("/")
    if not sep or not PROJECT_RE.fullmatch(project) or not NAME_RE.fullmatch(name):
        raise BadInput(f"invalid reference {text!r}: {_HOW}")
    return CollectionRef(project, name)
