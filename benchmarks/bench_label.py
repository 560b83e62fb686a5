"""Labelling workbench speed (issue 9): a 2,000-narrative file opens in under a second and each
save takes under 50 ms.

    python benchmarks/bench_label.py

Opens a 2,000-row copy of the demo narratives as `rhi-nlp label` does (file, journal, page state),
then times 200 decisions posted to the app the way the page posts them (Flask's test client, so
the figure is the server's: journal append with fsync, answer with the progress), and the
rewrite of the file that follows each one (in the background, not waited for by the page).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rhi_nlp.labels import LabelFile  # noqa: E402
from rhi_nlp.workbench import Workbench, create_app  # noqa: E402

N = 2000


def main() -> None:
    demo = pd.read_csv(ROOT / "training_data" / "demo" / "northmoor_rhi_2025.csv", dtype=str, keep_default_na=False)
    rows = pd.concat([demo] * (N // len(demo) + 1)).head(N)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        pd.DataFrame({"id": [f"R{i}" for i in range(N)], "narrative": rows["narrative"].to_numpy()}).to_csv(path, index=False)
        t0 = time.perf_counter()
        lf = LabelFile(path)
        wb = Workbench(lf, labeller="main", mode="audit")
        app = create_app(wb, "tok", [8080])
        client = app.test_client()
        hdr = {"X-RHI-Token": "tok"}
        base = "http://127.0.0.1:8080"
        assert client.get("/api/state", headers=hdr, base_url=base).status_code == 200
        assert client.get("/api/item/0", headers=hdr, base_url=base).status_code == 200
        opened = time.perf_counter() - t0
        saves = []
        for k in range(200):
            body = {"theme": "parental_conflict", "value": k % 2} if k % 3 else {"done": True, "labels": {}}
            t = time.perf_counter()
            r = client.post(f"/api/item/{k // 3}", json=body, headers=hdr, base_url=base)
            saves.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        t = time.perf_counter()
        lf.flush()
        lf.write()
        rewrite = (time.perf_counter() - t) * 1000
    saves.sort()
    print(f"Labelling a {N:,}-narrative file: opens (file, journal, state, first narrative) in {opened:.2f} s "
          f"(target < 1 s)")
    print(f"Each save (journal append with fsync, progress answered): median {statistics.median(saves):.1f} ms, "
          f"95th percentile {saves[int(0.95 * len(saves))]:.1f} ms, max {saves[-1]:.1f} ms (target < 50 ms)")
    print(f"The atomic rewrite of the whole file that follows in the background: {rewrite:.0f} ms")


if __name__ == "__main__":
    main()
