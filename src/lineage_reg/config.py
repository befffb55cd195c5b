"""Settings: the only module that reads the environment.

Every option is an environment variable ``LINEAGE_REG_<NAME>`` and, for the
ones a person changes often, a CLI flag (see ``cli.py``). Flags win.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from . import private

MiB = 1024 * 1024  # byte sizes, in every layer (settings, blob chunks, request bodies)
ANONYMOUS_MODES = ("none", "read", "write")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*(s|m|h)\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(spec: str) -> tuple[int, float]:
    """``"100/10s"`` -> (100, 10.0): at most 100 at once, refilled evenly over 10 seconds."""
    match = _RATE.match(spec)
    count, per = (int(match[1]), float(match[2] or 1) * _UNIT_SECONDS[match[3]]) if match else (0, 0.0)
    if count < 1 or per <= 0:
        raise ValueError(f"a rate looks like '100/10s', '600/m' or '5000/h' (count/period), not {spec!r}")
    return count, per


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("lineage-reg"))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None  # default: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8080
    # Public base URL used in upload/download links; default: the request's own.
    public_url: str | None = None
    # GraphiQL, introspection and "Did you mean ...?" suggestions: on only for development.
    dev: bool = False
    # What a request without a token may do. Writes need a token unless "write".
    anonymous: str = "none"
    protected_aliases: tuple[str, ...] = ("production",)
    # Lifetime of signed upload/download links to the local blob store.
    link_ttl_seconds: int = 3600
    max_page_size: int = 500
    # Estimated cost a GraphQL operation may have (fields resolved, page sizes multiplied down nested lists;
    # docs/api.md "Query cost"): above it the request is refused before it runs.
    max_query_cost: int = 500_000
    # Largest GraphQL answer sent over HTTP; a bigger one is refused (LIMIT_EXCEEDED) rather than streamed out.
    max_response_bytes: int = 64 * 1024 * 1024
    # Largest request body /graphql accepts (413 above it); /files uploads are not limited by it.
    max_body_bytes: int = 1024 * 1024
    # Slow clients (http/timeouts.py): a request's headers must arrive within header_timeout_seconds; its body
    # at body_min_rate bytes/s on average after body_timeout_seconds; an idle keep-alive connection closes
    # after keep_alive_seconds.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 20.0
    body_min_rate: float = 500.0
    keep_alive_seconds: float = 5.0
    # Origins whose pages may open a WebSocket to /graphql, besides the server's own; "*" for any.
    allowed_origins: tuple[str, ...] = ()
    # Mutations per token, e.g. "100/10s" (bursts up to 100, refilled over 10 s); None: unlimited.
    mutation_rate: str | None = None
    # Serve repeated identical queries from memory until the next committed write.
    response_cache: bool = True
    # Blob storage: None for the local directory, or s3://bucket/prefix.
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # How commit checks S3 objects: "full" streams them through sha256, "checksum" trusts the store's.
    verify: str = "full"
    multipart_threshold: int = 64 * 1024 * 1024
    part_size: int = 64 * 1024 * 1024
    # Live multipart upload sessions (files above the threshold not stored yet) one PENDING version may hold,
    # and one token may hold across all PENDING versions. Asking again for a version reuses its sessions.
    max_upload_sessions_per_version: int = 1000
    max_upload_sessions_per_token: int = 2000
    # Garbage collection: pending versions older than this are abandoned; unreferenced
    # blobs younger than the grace window are left alone (uploads may be in flight).
    pending_ttl_seconds: int = 24 * 3600
    gc_grace_seconds: int = 2 * 3600
    gc_interval_seconds: int = 0  # 0: no periodic GC in the server; run `lineage-reg gc`
    # Events a subscriber may fall behind before it is disconnected (it resumes with `after`).
    subscriber_queue: int = 10_000
    # OpenLineage: job namespace -> project ("*" for all others); unmapped namespaces become projects of their own.
    openlineage_projects: dict[str, str] = field(default_factory=dict)
    openlineage_max_body_bytes: int = 32 * 1024 * 1024
    # Webhooks: a failed delivery is retried after backoff, 2x backoff, 4x ... until max attempts.
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 10.0
    webhook_timeout_seconds: float = 10.0
    # Webhook targets besides public addresses: CIDRs and host names ("10.1.0.0/16,hooks.corp.example").
    webhook_allow: tuple[str, ...] = ()

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "registry.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def signing_key(self) -> bytes:
        """Key for signed blob links; from the environment or kept in the data dir."""
        env = os.environ.get("LINEAGE_REG_SIGNING_KEY")
        if env:
            return env.encode()
        path = self.data_dir / "signing.key"
        if not path.exists():
            private.make_dir(self.data_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private.FILE_MODE)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def _mapping(text: str, name: str) -> dict[str, str]:
    """"ns1=project1,ns2=project2,*=fallback" -> dict."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{name}: write namespace=project pairs separated by commas, not {item!r}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,127}", value.strip()):
            raise ValueError(f"{name}: {value.strip()!r} is not a project name (lowercase letters, digits, . _ -)")
        pairs[key.strip()] = value.strip()
    return pairs


def from_env(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(f"LINEAGE_REG_{name}")
        return value if value else None

    settings = Settings()
    anonymous = get("ANONYMOUS")
    if anonymous is not None and anonymous not in ANONYMOUS_MODES:
        raise ValueError(f"LINEAGE_REG_ANONYMOUS must be one of {ANONYMOUS_MODES}, not {anonymous!r}")
    protected = get("PROTECTED_ALIASES")
    verify = get("VERIFY")
    if (rate := get("MUTATION_RATE")) is not None:
        parse_rate(rate)  # fail at start, not at the first mutation
    if verify is not None and verify not in ("full", "checksum"):
        raise ValueError(f"LINEAGE_REG_VERIFY must be 'full' or 'checksum', not {verify!r}")
    return settings.with_overrides(
        data_dir=Path(d) if (d := get("DATA_DIR")) else None,
        database_url=get("DATABASE_URL"),
        host=get("HOST"),
        port=int(p) if (p := get("PORT")) else None,
        public_url=get("PUBLIC_URL"),
        dev=(get("DEV") or "").lower() in ("1", "true", "yes") or None,
        anonymous=anonymous,
        response_cache=(get("RESPONSE_CACHE") or "1").lower() not in ("0", "false", "no"),
        storage_url=get("STORAGE_URL"),
        s3_endpoint_url=get("S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
        s3_region=get("S3_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        verify=get("VERIFY"),
        multipart_threshold=int(v) if (v := get("MULTIPART_THRESHOLD")) else None,
        part_size=int(v) if (v := get("PART_SIZE")) else None,
        max_upload_sessions_per_version=int(v) if (v := get("MAX_UPLOAD_SESSIONS_PER_VERSION")) else None,
        max_upload_sessions_per_token=int(v) if (v := get("MAX_UPLOAD_SESSIONS_PER_TOKEN")) else None,
        pending_ttl_seconds=int(v) if (v := get("PENDING_TTL_SECONDS")) else None,
        gc_grace_seconds=int(v) if (v := get("GC_GRACE_SECONDS")) else None,
        gc_interval_seconds=int(v) if (v := get("GC_INTERVAL_SECONDS")) else None,
        link_ttl_seconds=int(v) if (v := get("LINK_TTL_SECONDS")) else None,
        subscriber_queue=int(v) if (v := get("SUBSCRIBER_QUEUE")) else None,
        openlineage_projects=_mapping(v, "LINEAGE_REG_OPENLINEAGE_PROJECTS") if (v := get("OPENLINEAGE_PROJECTS")) else None,
        openlineage_max_body_bytes=int(v) if (v := get("OPENLINEAGE_MAX_BODY_BYTES")) else None,
        webhook_max_attempts=int(v) if (v := get("WEBHOOK_MAX_ATTEMPTS")) else None,
        webhook_backoff_seconds=float(v) if (v := get("WEBHOOK_BACKOFF_SECONDS")) else None,
        webhook_timeout_seconds=float(v) if (v := get("WEBHOOK_TIMEOUT_SECONDS")) else None,
        webhook_allow=tuple(e.strip() for e in v.split(",") if e.strip()) if (v := get("WEBHOOK_ALLOW")) else None,
        protected_aliases=tuple(a for a in protected.split(",") if a) if protected else None,
        max_body_bytes=int(v) if (v := get("MAX_BODY_BYTES")) else None,
        header_timeout_seconds=float(v) if (v := get("HEADER_TIMEOUT_SECONDS")) else None,
        body_timeout_seconds=float(v) if (v := get("BODY_TIMEOUT_SECONDS")) else None,
        body_min_rate=float(v) if (v := get("BODY_MIN_RATE")) else None,
        keep_alive_seconds=float(v) if (v := get("KEEP_ALIVE_SECONDS")) else None,
        max_query_cost=int(v) if (v := get("MAX_QUERY_COST")) else None,
        max_response_bytes=int(v) if (v := get("MAX_RESPONSE_BYTES")) else None,
        allowed_origins=tuple(o.strip() for o in v.split(",") if o.strip()) if (v := get("ALLOWED_ORIGINS")) else None,
        mutation_rate=get("MUTATION_RATE"),
    )
