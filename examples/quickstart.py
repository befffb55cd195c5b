"""A training run logs a model, links it into a registered model, promotes it, and a deploy step fetches it.

    export LINEAGE_REG_URL=http://127.0.0.1:8080
    export LINEAGE_REG_TOKEN=$(cat ~/.local/share/lineage-reg/admin.token)
    .venv/bin/python examples/quickstart.py

Promoting to `production` needs an admin token (the alias is protected).
Running it again logs and promotes a new version.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from lineage_reg.client import Conflict, Registry

PROJECT = "quickstart"
MODEL = f"{PROJECT}/churn"


def train(out: Path, lr: float) -> float:
    """Stand-in for real training: writes a model directory, returns a validation loss."""
    (out / "weights").mkdir(parents=True, exist_ok=True)
    (out / "weights" / "model.bin").write_bytes(random.randbytes(256 * 1024))
    (out / "config.json").write_text(json.dumps({"lr": lr, "layers": 4}))
    return round(random.uniform(0.1, 0.3), 4)


def main() -> None:
    with Registry() as reg, tempfile.TemporaryDirectory() as tmp:
        try:
            reg.create_project(PROJECT, "models from examples/quickstart.py")
        except Conflict:
            pass  # a second run of the example

        lr, epochs = 0.01, 3
        with reg.start_run(PROJECT, config={"lr": lr, "epochs": epochs}) as run:  # FAILED if training raises
            run.use_dataset("s3://datalake", "churn/2026-11", mode="read")
            for step in range(epochs):
                run.log_metrics(step, {"loss": 1.0 / (step + 1)})
            loss = train(Path(tmp) / "model", lr=lr)
            version = run.log_artifact("churn-classifier", type="model", path=Path(tmp) / "model",
                                       metadata={"val_loss": loss})
        print(f"logged {version.ref} ({len(version.files)} files, digest {version.digest[:12]}) from run {run.name}")

        link = reg.link(version.ref, MODEL, aliases=["staging"])
        print(f"linked as {link}, alias staging")
        reg.set_alias(MODEL, "production", version.ref)
        print("promoted to production")

        live = reg.resolve(f"{MODEL}:production")
        print(f"{MODEL}:production is {live.ref} (val_loss {live.metadata['val_loss']})")
        deployed = reg.download(f"{MODEL}:production", Path(tmp) / "deploy")
        print("downloaded:", sorted(p.relative_to(deployed).as_posix() for p in deployed.rglob("*") if p.is_file()))


if __name__ == "__main__":
    main()
