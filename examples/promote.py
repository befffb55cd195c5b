"""Move an alias from one version to another, but only if the candidate passes a check.

    .venv/bin/python examples/promote.py cancer/cancer-classifier --from staging --to canary --require train_accuracy>=0.9

The candidate is what ``--from`` points at. ``--require KEY>=VALUE`` (repeatable) checks a number of the
candidate's metadata or of the metrics of the run that produced it (read with ``compareVersions``). Nothing
moves when a check fails (exit 1) or when the alias already points at the candidate (exit 0). Moving a
protected alias (production) needs an admin token.
"""

from __future__ import annotations

import argparse
import re
import sys

import lineage_reg as lr
from lineage_reg.client import NotFound, Registry

REQUIREMENT = re.compile(r"^([\w.-]+)(>=|<=)(-?[\d.]+)$")


def values_of(reg: Registry, ref: str) -> dict[str, float]:
    """The candidate's numeric metadata and producing-run metrics (compareVersions with itself)."""
    table = reg.compare(ref, ref)
    found: dict[str, float] = {}
    for section in ("metadata", "metrics"):
        for row in table[section]:
            value = row["values"][0]
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[row["key"]] = float(value)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("collection", help="project/registered-model")
    ap.add_argument("--from", dest="source", default="staging")
    ap.add_argument("--to", dest="target", default="production")
    ap.add_argument("--require", action="append", default=[], help="KEY>=VALUE or KEY<=VALUE (repeatable)")
    args = ap.parse_args()

    with lr.connect() as reg:
        candidate = reg.resolve(f"{args.collection}:{args.source}")
        try:
            current = reg.resolve(f"{args.collection}:{args.target}").ref
        except NotFound:
            current = None
        if current == candidate.ref:
            print(f"{args.collection}:{args.target} is already {candidate.ref}; nothing to do")
            return
        values = values_of(reg, candidate.ref)
        for requirement in args.require:
            match = REQUIREMENT.match(requirement)
            if not match:
                sys.exit(f"--require {requirement!r}: write KEY>=VALUE or KEY<=VALUE")
            key, op, bound = match[1], match[2], float(match[3])
            value = values.get(key)
            ok = value is not None and (value >= bound if op == ">=" else value <= bound)
            print(f"check {key} {op} {bound}: {value if value is not None else 'missing'} -> {'ok' if ok else 'FAIL'}")
            if not ok:
                sys.exit(f"not promoting {candidate.ref}: {requirement} does not hold")
        reg.set_alias(args.collection, args.target, candidate)
        print(f"moved {args.collection}:{args.target} from {current or 'nothing'} to {candidate.ref}")


if __name__ == "__main__":
    main()
