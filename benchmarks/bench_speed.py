"""Tagging speed and memory (issue 10).

    python benchmarks/bench_speed.py [--rows 20000] [--memory-rows 10000,100000]

Measured in one run on the same texts (the demo narratives repeated): spaCy's blank tokenizer
alone, a keyword regex pass, and `rhi-nlp tag` with 1 and 2 worker processes; each tag rate is also
given as a ratio to the tokenizer's and the regex pass's. Then the top lines of a profile of one
process tagging 2,000 narratives (where the time goes), and the peak memory of `rhi-nlp tag`
reading and writing Parquet at each size in --memory-rows (1,000,000 is the national-scale check:
about half an hour on 2 cores).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rhi_nlp.keywords import keyword_baseline  # noqa: E402
from rhi_nlp.paths import default_model_dir  # noqa: E402
from rhi_nlp.persistence import load_model  # noqa: E402
from rhi_nlp.tagging import Tagger, tag_file  # noqa: E402
from rhi_nlp.themes import load_themes  # noqa: E402

DEMO = ROOT / "training_data" / "demo" / "northmoor_rhi_2025.csv"


def texts_of(n: int) -> pd.DataFrame:
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    df = pd.concat([demo] * (n // len(demo) + 1), ignore_index=True).head(n)
    df["rhi_id"] = [f"R{i:07d}" for i in range(n)]
    return df[["rhi_id", "narrative"]]


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


# Runs the command as the only child of a fresh process and prints the largest peak resident
# memory among its processes (RUSAGE_CHILDREN of this benchmark would also count the worker
# processes of the runs before it).
_LAUNCHER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Peak resident memory (MB; the largest process: the main one or a worker) and wall time of a
    command."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *args], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    return int(proc.stdout.split()[-1]) / 1024, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--memory-rows", default="10000,100000")
    args = ap.parse_args()
    import spacy

    model = load_model(default_model_dir())
    df = texts_of(args.rows)
    texts = df["narrative"].tolist()
    nlp = spacy.blank("en")
    t = time.perf_counter()
    for _ in nlp.tokenizer.pipe(texts, batch_size=256):
        pass
    tok = rate(len(texts), time.perf_counter() - t)
    t = time.perf_counter()
    keyword_baseline(texts, load_themes())
    rx = rate(len(texts), time.perf_counter() - t)
    print(f"{len(texts):,} demo narratives; spaCy blank tokenizer alone {tok:,.0f}/s; keyword regex pass {rx:,.0f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        df.to_csv(src, index=False)
        for workers in (1, 2):
            t = time.perf_counter()
            tag_file(src, Path(tmp) / f"out{workers}.csv", model, id_col="rhi_id", workers=workers)
            r = rate(len(texts), time.perf_counter() - t)
            print(f"rhi-nlp tag, {workers} worker(s): {r:,.0f} narratives/s = {r / tok:.3f}x the tokenizer, "
                  f"{r / rx:.2f}x the regex pass (target 5,000/s and 0.15x on 2 cores)")
        try:
            from rhi_nlp.dask_engine import tag_dataset
        except ImportError:
            tag_dataset = None
        if tag_dataset is not None:
            folder = Path(tmp) / "dataset"
            folder.mkdir()
            for k in range(4):
                df.iloc[k::4].to_parquet(folder / f"part-{k}.parquet", index=False)
            t = time.perf_counter()
            tag_dataset(folder, Path(tmp) / "dask_out", default_model_dir(), id_col="rhi_id", workers=2)
            r = rate(len(texts), time.perf_counter() - t)
            print(f"rhi-nlp tag --engine dask, local cluster of 2 workers: {r:,.0f} narratives/s "
                  f"(including the cluster's start-up)")
    tagger = Tagger(model)
    tagger.tag_texts(texts[:100])
    prof = cProfile.Profile()
    prof.enable()
    tagger.tag_texts(texts[:2000])
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    print("\nWhere one process spends its time (2,000 narratives; top lines by own time):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])
    print()
    for n in [int(x) for x in args.memory_rows.split(",") if x]:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in.parquet"
            texts_of(n).to_parquet(src, index=False)
            mb, secs = peak_rss_mb([sys.executable, "-m", "rhi_nlp", "tag", str(src), "--id-col", "rhi_id",
                                    "-o", str(Path(tmp) / "out.parquet"), "--workers", "2", "--quiet",
                                    "--model", str(default_model_dir())])
            print(f"Peak memory tagging {n:,} rows Parquet to Parquet with 2 workers: {mb:,.0f} MB "
                  f"(largest process; {secs:.0f} s, {n / secs:,.0f}/s including start-up)")


if __name__ == "__main__":
    main()
