"""The one parser for names and references users type.

    churn                      a project
    churn/classifier           a collection (artifact or registered model)
    churn/classifier:v3        a version by index
    churn/classifier:latest    a version by alias (any alias)
    churn/classifier@3fa9c1    a version by digest prefix (>= 6 hex chars)

The API, the SDK and the CLI all parse through here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
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


MAX_PATH_BYTES = 1024
# A component leaves room for the SDK's temporary name beside it (".<name>.<12 hex>.part", 19 bytes more)
# within the 255 bytes most file systems allow a name.
MAX_COMPONENT_BYTES = 200
# Bidirectional controls (embeddings, overrides, isolates, marks): they make a path display as another one.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _path_problem(path: str) -> str | None:
    """What makes ``path`` one the SDK could not write, or None."""
    if not path:
        return "it is empty"
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid Unicode (a lone surrogate)"
    if size > MAX_PATH_BYTES:
        return f"it is {size} bytes of UTF-8; at most {MAX_PATH_BYTES}"
    if path.startswith("/"):
        return "it is absolute; paths are relative to the version's directory"
    if "\\" in path:
        return "it has a backslash; separate parts with '/'"
    if any(unicodedata.category(c) == "Cc" for c in path):
        return "it has a control character (newline, tab, NUL, ...)"
    if any(c in BIDI_CONTROLS for c in path):
        return "it has a bidirectional control character (U+202A-U+202E, U+2066-U+2069, ...)"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "it has an empty, '.' or '..' part (or a trailing '/')"
    if any(len(part.encode("utf-8")) > MAX_COMPONENT_BYTES for part in parts):
        return f"a part is over {MAX_COMPONENT_BYTES} bytes of UTF-8"
    return None


def check_file_path(path: str) -> str:
    """A relative POSIX path inside a version's directory that the SDK can write on common file systems."""
    if (problem := _path_problem(path)) is not None:
        raise BadInput(f"invalid file path {path!r}: {problem}")
    return path


def path_key(path: str) -> str:
    """Where a path lands on a case- and normalisation-insensitive file system (macOS, Windows)."""
    return unicodedata.normalize("NFC", path).lower()


def check_file_paths(paths: Iterable[str]) -> None:
    """The paths of one version, each valid, that can all be written side by side: no two land on the same
    file where case or Unicode normalisation is ignored, and no file is also another's directory ('a', 'a/b')."""
    files: dict[str, str] = {}
    dirs: dict[str, str] = {}
    for path in paths:
        check_file_path(path)
        key = path_key(path)
        if (other := files.get(key)) is not None:
            same = "appears twice" if other == path else f"and {other!r} differ only by case or Unicode normalisation"
            raise BadInput(f"file {path!r} {same}; each file needs a path of its own on every file system")
        if (other := dirs.get(key)) is not None:
            raise BadInput(f"file {path!r} is also the directory of {other!r}; rename one of them")
        files[key] = path
        parts = key.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if (other := files.get(parent)) is not None:
                raise BadInput(f"file {other!r} is also the directory of {path!r}; rename one of them")
            dirs.setdefault(parent, path)


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
