"""The examples run as a user would run them, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import LiveServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_and_deploy_bot(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    env = {**os.environ, "LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": live.admin_token()}
    bot = subprocess.Popen([sys.executable, str(EXAMPLES / "deploy_bot.py"), "quickstart/churn", "--dest",
                            str(tmp_path / "deployed"), "--once"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout is not None
        assert "following quickstart/churn:production" in bot.stdout.readline()
        quick = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], env=env, capture_output=True,
                               text=True, timeout=120)
        assert quick.returncode == 0, quick.stderr
        assert "promoted to production" in quick.stdout
        out, _ = bot.communicate(timeout=60)
    finally:
        bot.kill()
    assert bot.returncode == 0
    assert "deployed quickstart/churn-classifier:v0" in out
    deployed = tmp_path / "deployed" / "quickstart_churn-classifier_v0"
    assert (deployed / "weights" / "model.bin").stat().st_size == 256 * 1024
