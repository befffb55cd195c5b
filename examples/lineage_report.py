"""What produced a model: the runs, datasets and versions upstream of a reference, as an indented report.

    .venv/bin/python examples/lineage_report.py cancer/cancer-classifier:production [--depth 6]

One ``lineage`` query (direction UPSTREAM) on the resolved version; the report walks the returned edges
backwards from the version: each version names the run that produced it, each run the versions and datasets
it read, with the run's config.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import lineage_reg as lr

LINEAGE = """query($r: String!, $depth: Int!) { resolve(ref: $r) { ref lineage(direction: UPSTREAM, depth: $depth) {
  root truncated nodes { id kind label } edges { source target kind } } } }"""
RUN = "query($id: ID!) { node(id: $id) { ... on Run { config status } } }"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref")
    ap.add_argument("--depth", type=int, default=6)
    args = ap.parse_args()

    with lr.connect() as reg:
        version = reg.query(LINEAGE, r=args.ref, depth=args.depth)["resolve"]
        if version is None:
            raise SystemExit(f"{args.ref} not found")
        graph = version["lineage"]
        nodes = {n["id"]: n for n in graph["nodes"]}
        parents = defaultdict(list)  # target -> [(source, edge kind)]
        for edge in graph["edges"]:
            parents[edge["target"]].append((edge["source"], edge["kind"]))

        print(f"{args.ref} is {version['ref']}")
        seen: set[str] = set()

        def show(node_id: str, indent: int) -> None:
            node = nodes[node_id]
            extra = ""
            if node["kind"] == "RUN":
                run = reg.query(RUN, id=node_id)["node"] or {}
                extra = f" [{run.get('status')}] config {run.get('config')}"
            print(f"{'  ' * indent}{node['kind'].lower()} {node['label']}{extra}")
            if node_id in seen:
                return
            seen.add(node_id)
            for source, kind in sorted(parents[node_id], key=lambda p: nodes[p[0]]["label"]):
                print(f"{'  ' * (indent + 1)}<- {kind}")
                show(source, indent + 2)

        show(graph["root"], 0)
        if graph["truncated"]:
            print(f"(cut at depth {args.depth}; pass --depth for more)")


if __name__ == "__main__":
    main()
