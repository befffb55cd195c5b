"""What the CLI prints: whole values, integers as integers, both kinds of aliases, its own commands in errors,
nothing stray on stderr. As a subprocess (what users run), against a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LiveServer

from lineage_reg.client import Registry

pytestmark = pytest.mark.dialects("sqlite")  # the output is the subject, not the database
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineage_reg.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def ok(*args: str, env: dict[str, str]) -> str:
    done = cli(*args, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture
def env(live: LiveServer, tmp_path: Path, dialect: str) -> dict[str, str]:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        src = tmp_path / "model.bin"
        for i in range(2):
            src.write_bytes(b"weights %d" % i)
            reg.log_artifact("churn", "classifier-with-a-long-name", type="model", path=src,
                             description="the first try" if i == 0 else None)
        reg.query('mutation { createRegisteredModel(project: "churn", name: "churn-model-production", '
                  'description: "what serves the churn scores") { name } }')
        reg.link("churn/classifier-with-a-long-name:v0", "churn/churn-model-production",
                 aliases=["staging", "production"])
        reg.link("churn/classifier-with-a-long-name:v1", "churn/churn-model-production", aliases=["challenger"])
        reg.set_alias("churn/churn-model-production", "staging", "churn/classifier-with-a-long-name:v1")
    return {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": live.admin_token(),
            "LINEAGE_REG_CREDENTIALS": str(tmp_path / "creds.json"), "COLUMNS": "80"}


def test_history_and_ls_print_whole_values_and_integer_sequences(env: dict[str, str]) -> None:
    """Defect 11: `2026-12-03T0…` and `34.0`."""
    text = ok("history", "churn/churn-model-production", env=env)
    assert "…" not in text and ".0 " not in text
    rows = text.splitlines()[1:]
    assert len(rows) >= 5 and all(TIMESTAMP.search(r) for r in rows), text  # one line each, timestamp whole
    assert all(re.match(r"\d+ ", r) for r in rows), text  # the sequence, an integer
    assert "churn/classifier-with-a-long-name:v0" in text and "churn/classifier-with-a-long-name:v1" in text
    events = json.loads(ok("history", "churn/churn-model-production", "--json", env=env))
    assert all(isinstance(e["sequence"], int) for e in events)

    versions = ok("ls", "churn/classifier-with-a-long-name", env=env)
    assert "…" not in versions and "churn/classifier-with-a-long-name:v1" in versions
    assert all(TIMESTAMP.search(r) for r in versions.splitlines()[1:]), versions
    assert re.search(r"\bCOMMITTED\s+9\s", versions), versions  # size 9, not 9.0
    links = ok("ls", "churn/churn-model-production", env=env)
    assert "…" not in links and all(TIMESTAMP.search(r) for r in links.splitlines()[1:]), links


def test_on_a_narrow_terminal_values_wrap_instead_of_being_cut(env: dict[str, str]) -> None:
    text = ok("history", "churn/churn-model-production", env={**env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "0",
                                                               "NO_COLOR": "1"})
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # bold headers
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    events = json.loads(ok("history", "churn/churn-model-production", "--json", env=env))
    assert len(text.splitlines()) - 1 > len(events)  # rows wrapped onto more lines, nothing cut


def test_get_writes_nothing_to_stderr_when_it_is_not_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    done = cli("get", "churn/churn-model-production:production", "--root", str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # was "\n": the hidden progress bar's line
    assert done.stdout.startswith("churn/classifier-with-a-long-name:v0 -> ")


def test_show_of_a_registered_models_reference_labels_both_kinds_of_aliases(env: dict[str, str]) -> None:
    """Defect 10: `show project/model:production` printed the artifact's aliases only, and no description."""
    text = ok("show", "churn/churn-model-production:production", env=env)
    lines = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()[:12])}
    assert lines["ref"] == "churn/classifier-with-a-long-name:v0"
    assert lines["artifact aliases"] == "-"  # v1 is the artifact's latest
    assert lines["registered model"] == "churn/churn-model-production"
    assert lines["model aliases"] == "production"  # staging moved on to v1
    assert lines["model description"] == "what serves the churn scores"
    assert lines["description"] == "the first try"
    data = json.loads(ok("show", "churn/churn-model-production:staging", "--json", env=env))
    assert data["ref"] == "churn/classifier-with-a-long-name:v1" and data["aliases"] == ["latest"]
    assert data["registeredModel"] == {"ref": "churn/churn-model-production", "aliases": ["challenger", "latest",
                                                                                         "staging"],
                                       "description": "what serves the churn scores"}
    plain = ok("show", "churn/classifier-with-a-long-name:v1", env=env)
    assert re.search(r"^\s*aliases: latest$", plain, re.M) and "registered model" not in plain


def test_errors_name_the_cli_commands_not_the_api_mutations(env: dict[str, str], tmp_path: Path) -> None:
    """Defect 6: "create it with createProject", "link it with linkVersion first" spoke GraphQL."""
    src = tmp_path / "m.bin"
    src.write_bytes(b"x")
    with Registry(env["LINEAGE_REG_URL"], env["LINEAGE_REG_TOKEN"]) as reg:
        reg.log_artifact("churn", "other", type="model", path=src)
    done = cli("alias", "set", "churn/churn-model-production", "canary", "churn/other:v0", env=env)
    assert done.returncode == 5
    assert "link it with `lineage-reg link REF COLLECTION` first" in done.stderr, done.stderr
    assert "linkVersion" not in done.stderr


def test_the_table_of_mutations_fills_in_what_the_error_tells() -> None:
    from lineage_reg.cli.client import in_cli_terms

    assert in_cli_terms("project 'x' not found; create it with createProject", {"project": "x"}) \
        == "project 'x' not found; create it with `lineage-reg project create x`"
    assert in_cli_terms("ask a project admin (addMember)") \
        == "ask a project admin (`lineage-reg member add PROJECT USER --role ROLE`)"
    assert in_cli_terms("set it with updateWebhook") == "set it with `lineage-reg webhook update ID`"
    assert in_cli_terms("createProjectX stays") == "createProjectX stays"  # whole words only


def test_alias_set_of_a_name_the_collection_never_had_notes_it_created_one(env: dict[str, str]) -> None:
    """A typo'd alias (issue 16, defect 5) is a note, not a refusal: exit 0, the move done, and stderr says so."""
    moved = cli("alias", "set", "churn/churn-model-production", "staging", "churn/classifier-with-a-long-name:v0",
                env=env)
    assert moved.returncode == 0 and "note" not in moved.stderr, moved.stderr  # an alias it has: moved, no note

    typo = cli("alias", "set", "churn/churn-model-production", "prodution", "churn/classifier-with-a-long-name:v1",
               env=env)
    assert typo.returncode == 0, typo.stderr
    assert "note: created a new alias 'prodution'" in typo.stderr
    assert "lineage-reg alias rm churn/churn-model-production prodution" in typo.stderr
    again = cli("alias", "set", "churn/churn-model-production", "prodution", "churn/classifier-with-a-long-name:v0",
                env=env)
    assert again.returncode == 0 and "note" not in again.stderr  # it exists now: a plain move
