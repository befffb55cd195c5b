"""The SDK's transfers next to raw HTTP: 1,000 small files and one 1 GiB file, up and down.

    python bench/sdk.py [--size-mib 1024] [--small 1000] [--small-kib 10] [--repeat 2]

Starts ``lineage-reg serve`` (SQLite, local blobs) on a fresh data dir. Per file set and per run, with
fresh random bytes each time (nothing deduplicates):

* SDK upload: ``Registry.log_artifact`` from the directory: walking, sha256 of every file, create, parallel
  PUTs (4 at a time), ``completeUpload`` for multipart, commit. Everything the SDK does is timed.
* raw upload: the same protocol by hand (``bench/storage.py``'s client: the manifest's hashes computed
  beforehand and untimed, 8 PUTs at a time, no retries), so the ratio prices the SDK's extra work.
* SDK download: ``Registry.download`` into an empty directory with an empty cache (resolve, GETs or,
  for small files, ``POST /files/batch``, sha256 of every byte, rename into place, hard link into the
  cache), then again with a warm cache.
* raw download: every ``downloadUrl`` (listed beforehand, untimed) streamed to disk, 8 at a time, not
  hashed.

The fastest of ``--repeat`` runs counts for each. MB/s = 10^6 bytes/s. Targets: SDK >= 70 % of raw
throughput; 1,000 small files logged in < 10 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hot_path import Registry as Server  # noqa: E402
from storage import ours as raw_round_trip  # noqa: E402

from lineage_reg.client import Registry  # noqa: E402

MiB = 1024 * 1024


def fresh_files(root: Path, count: int, size: int) -> dict[str, Path]:
    root.mkdir(parents=True)
    for i in range(count):
        with open(root / f"f{i:04d}.bin", "wb") as f:
            for left in range(size, 0, -MiB):
                f.write(os.urandom(min(MiB, left)))
    return {p.name: p for p in sorted(root.iterdir())}


def sdk_round_trip(server: Server, name: str, src: Path, out: Path, cache: Path) -> dict[str, float]:
    with Registry(server.url, server.token, cache=cache) as reg:
        os.sync()
        t0 = time.perf_counter()
        version = reg.log_artifact("bench", name, type="model", path=src)
        t1 = time.perf_counter()
        os.sync()
        t2 = time.perf_counter()
        reg.download(version.ref, root=out / "cold")
        t3 = time.perf_counter()
        reg.download(version.ref, root=out / "warm")
        t4 = time.perf_counter()
    shutil.rmtree(out)
    shutil.rmtree(cache)
    return {"upload": t1 - t0, "download": t3 - t2, "cached": t4 - t3}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--small-kib", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    sets = {f"{args.small} x {args.small_kib} KiB": (args.small, args.small_kib * 1024),
            f"1 x {args.size_mib} MiB": (1, args.size_mib * MiB)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sdk-") as tmp:
        work = Path(tmp)
        server = Server(work / "server")
        try:
            with Registry(server.url, server.token, cache=False) as reg:
                reg.create_project("bench")
            for label, (count, size) in sets.items():
                total = count * size
                best: dict[str, float] = {}
                for run in range(args.repeat):
                    files = fresh_files(work / f"raw-{run}", count, size)
                    raw = raw_round_trip(server, f"raw-{count}-{run}", files, work / "raw-out")
                    shutil.rmtree(work / f"raw-{run}")
                    fresh_files(work / f"sdk-{run}", count, size)
                    sdk = sdk_round_trip(server, f"sdk-{count}-{run}", work / f"sdk-{run}", work / "sdk-out",
                                         work / "cache")
                    shutil.rmtree(work / f"sdk-{run}")
                    for key, seconds in (("raw upload", raw["upload"][0]), ("raw download", raw["download"][0]),
                                         *((f"sdk {k}", v) for k, v in sdk.items())):
                        best[key] = min(best.get(key, float("inf")), seconds)
                for way in ("upload", "download"):
                    sdk_s, raw_s = best[f"sdk {way}"], best[f"raw {way}"]
                    rows.append((label, way, total / sdk_s / 1e6, total / raw_s / 1e6, count / sdk_s, count / raw_s,
                                 raw_s / sdk_s, sdk_s))
                rows.append((label, "download (cached)", total / best["sdk cached"] / 1e6, None,
                             count / best["sdk cached"], None, None, best["sdk cached"]))
        finally:
            server.stop()

    print(f"load average before: {load:.1f}; best of {args.repeat}")
    print("| files | way | SDK MB/s | raw MB/s | SDK files/s | raw files/s | SDK / raw | >= 70 % | SDK seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, way, sdk_mbs, raw_mbs, sdk_fs, raw_fs, ratio, seconds in rows:
        met = "-" if ratio is None else ("met" if ratio >= 0.7 else "MISSED")
        raw_cells = ("-", "-", "-") if ratio is None else (f"{raw_mbs:,.0f}", f"{raw_fs:,.0f}", f"{ratio:.0%}")
        print(f"| {label} | {way} | {sdk_mbs:,.0f} | {raw_cells[0]} | {sdk_fs:,.0f} | {raw_cells[1]} | "
              f"{raw_cells[2]} | {met} | {seconds:.2f} |")
    small = next(r for r in rows if r[1] == "upload")
    print(f"\n{sets and list(sets)[0]} logged in {small[7]:.2f} s (target < 10 s: {'met' if small[7] < 10 else 'MISSED'})")


if __name__ == "__main__":
    main()
