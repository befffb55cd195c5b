"""Train two scikit-learn models, register both with their lineage, evaluate them, promote the better one.

    export LINEAGE_REG_URL=http://127.0.0.1:8080
    export LINEAGE_REG_TOKEN=$(cat ~/.local/share/lineage-reg/admin.token)
    pip install scikit-learn
    .venv/bin/python examples/train_and_register.py

The data is scikit-learn's breast-cancer dataset (it ships with the library: no download). Each training run
records the dataset it read, the train split it used (an artifact: downloaded through the registry, so the run
trains on exactly the logged bytes), per-epoch metrics and the model it wrote. An evaluation run then scores
both versions on the held-out split, links the better one into the registered model with `staging`, and
promotes it to `production` (a protected alias: an admin token is needed). Each model kind is its own
artifact (`classifier-logreg`, `classifier-tree`), so running the example again logs nothing new: an
identical model deduplicates to the latest version of its artifact.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import lineage_reg as lr
from lineage_reg.client import Conflict

PROJECT = "cancer"
MODEL = f"{PROJECT}/cancer-classifier"
CANDIDATES = {
    "logreg": (lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)), {"C": 1.0}),
    "tree": (lambda: DecisionTreeClassifier(max_depth=3, random_state=0), {"max_depth": 3}),
}


def write_splits(out: Path) -> tuple[Path, Path]:
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    for name, xs, ys in (("train", x_train, y_train), ("test", x_test, y_test)):
        (out / name).mkdir(parents=True, exist_ok=True)
        np.savetxt(out / name / "data.csv", np.column_stack([xs, ys]), delimiter=",", fmt="%.6g")
    return out / "train", out / "test"


def load_split(root: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(root / "data.csv", delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


def main() -> None:
    with lr.connect() as reg, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            reg.create_project(PROJECT, "models from examples/train_and_register.py")
        except Conflict:
            pass  # a second run of the example
        train_dir, test_dir = write_splits(work / "splits")
        train_set = reg.log_artifact(PROJECT, "train-set", type="dataset", path=train_dir)
        test_set = reg.log_artifact(PROJECT, "test-set", type="dataset", path=test_dir)
        print(f"logged {train_set.ref} and {test_set.ref}")

        versions = {}
        for kind, (make, params) in CANDIDATES.items():
            with reg.start_run(project=PROJECT, name=f"train-{kind}", config={"model": kind, **params}) as run:
                run.use_dataset("sklearn://datasets", "breast_cancer")  # where the splits came from
                x, y = load_split(run.use(train_set.ref, root=work / kind / "data"))
                model = make().fit(x, y)
                run.log_metrics({"train_accuracy": accuracy_score(y, model.predict(x))}, step=0)
                (work / kind / "model").mkdir(parents=True)
                (work / kind / "model" / "model.pkl").write_bytes(pickle.dumps(model))
                versions[kind] = run.log_artifact(work / kind / "model", name=f"classifier-{kind}", type="model",
                                                  metadata={"model": kind, **params})
            print(f"trained {kind}: {versions[kind].ref} (run {run.name})")

        with reg.start_run(project=PROJECT, name="evaluate", config={"metric": "auc"}) as run:
            x, y = load_split(run.use(test_set.ref, root=work / "eval" / "data"))
            scores = {}
            for kind, version in versions.items():
                model = pickle.loads((run.use(version, root=work / "eval" / kind) / "model.pkl").read_bytes())
                scores[kind] = float(roc_auc_score(y, model.predict_proba(x)[:, 1]))
                print(f"evaluated {version.ref}: auc {scores[kind]:.4f}")
            run.log_metrics({f"auc_{kind}": auc for kind, auc in scores.items()}, step=0)
            best = max(scores, key=lambda k: scores[k])
            run.finish("FINISHED", summary={"best": best, "auc": scores[best]})

        link = reg.link(versions[best], MODEL, aliases=["staging"])
        reg.set_alias(MODEL, "production", versions[best])
        print(f"promoted {versions[best].ref} as {link} (auc {scores[best]:.4f}) to {MODEL}:production")


if __name__ == "__main__":
    main()
