"""A training run logs a model, links it into a registered model, promotes it, and a deploy step fetches it.

    export LINEAGE_REG_URL=http://127.0.0.1:8080
    export LINEAGE_REG_TOKEN=$(cat ~/.local/share/lineage-reg/admin.token)
    python examples/quickstart.py
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from lineage_reg.client import Conflict, Registry


def train(out: Path, lr: float) -> float:
    """Stand-in for real training: writes a model directory, returns a validation loss."""
    (out / "weights").mkdir(parents=True, exist_ok=True)
    (out / "weights" / "model.bin").write_bytes(random.randbytes(256 * 1024))
    (out / "config.json").write_text(json.dumps({"lr": lr, "layers": 4}))
    return round(random.uniform(0.1, 0.3), 4)


def main() -> None:
    with Registry() as reg, tempfile.TemporaryDirectory() as tmp:
        try:
            reg.create_project("quickstart", "models from examples/quickstart.py")
        except Conflict:
            pass  # a second run of the example

        with reg.start_run("quickstart", config={"lr": 0.01}) as run:
            run.use_dataset("s3://datalake", "churn/2026-11", mode="read")
            for step in range(3):
                run.log_metrics(step, {"loss": 1.0 / (step + 1)})
            loss = train(Path(tmp) / "model", lr=0.01)
            version = run.log_artifact("churn-classifier", type="model", path=Path(tmp) / "model",
                                       metadata={"val_loss": loss})
        print(f"logged {version.ref} ({len(version.files)} files, digest {version.digest[:12]})")

        link = reg.link(version.ref, "quickstart/churn", aliases=["staging"])
        print(f"linked as {link}, alias staging")
        reg.set_alias("quickstart/churn", "production", version.ref)  # admins only: production is protected
        print("promoted to production")

        deployed = reg.download("quickstart/churn:production", Path(tmp) / "deploy")
        print("downloaded:", sorted(str(p.relative_to(deployed)) for p in deployed.rglob("*") if p.is_file()))


if __name__ == "__main__":
    main()
