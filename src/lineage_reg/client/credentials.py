"""Where ``lineage-reg login`` keeps the URL and token, readable by its owner only (the token is a secret)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def credentials_path() -> Path:
    """``LINEAGE_REG_CREDENTIALS``, else ``credentials.json`` in the user's config directory."""
    override = os.environ.get("LINEAGE_REG_CREDENTIALS")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("lineage-reg")) / "credentials.json"


def saved_credentials() -> dict[str, str]:
    try:
        data = json.loads(credentials_path().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in ("url", "token") and isinstance(v, str)}


def save_credentials(url: str, token: str) -> Path:
    """Write the credentials file with mode 0600, atomically."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "token": token}, f)
    os.replace(tmp, path)
    return path
