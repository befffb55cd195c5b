"""Owner-only files and directories, whatever the process's umask.

Everything the server keeps on disk is either a secret (the bootstrap token,
the signing key) or registry data (the SQLite database, blobs): files are
created 0600 and directories 0700. Explicit modes rather than a umask set at
startup, so embedding the app (tests, other servers) changes nothing else in
the process. SQLite creates its -wal, -shm and -journal files itself with the
mode of the database file, so creating that file 0600 first covers them.
Paths that already exist keep their modes: an operator's choice is theirs.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_dir(path: Path) -> None:
    """``mkdir -p`` that creates every missing component 0700 (pathlib gives parents the default mode)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for p in reversed(missing):
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:  # created meanwhile (another process starting on the same data dir)
            pass


def create_file(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
