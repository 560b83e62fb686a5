"""Build the independent corpus files from the hand-written JSON Lines in raw/ (deterministic).

    python training_data/independent/build.py

Writes
- training_data/independent/independent.csv: the training voices (12 voice briefs);
- training_data/locked/locked.csv: the locked test voices (raw/locked_*.jsonl), never trained or
  tuned on, scored once per release;
- training_data/realworld/realworld.csv: paraphrased published case descriptions, with '?' where
  the source leaves a theme open (skipped in scoring).
Where a narrative was labelled twice and adjudicated (adjudicated/*.jsonl), the adjudicated
labels replace the first labeller's.
Columns: id, voice, setting, age, narrative, one 0/1 column per theme, hard_negative (1 when the
narrative holds a mention that does not count), and for the real-world set source_url, source_title.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from validate import THEMES, check  # noqa: E402


def _rows(path: Path) -> list[dict]:
    errors, rows = check(path)
    if errors:
        raise SystemExit(f"{path}: {len(errors)} problem(s), first: {errors[0]} (run validate.py)")
    return rows


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"{len(rows):5d} rows -> {path.relative_to(ROOT.parent)}")


def main() -> None:
    header = ["id", "voice", "setting", "age", "narrative", *THEMES, "hard_negative"]
    adjudicated = {}
    for path in sorted((HERE / "adjudicated").glob("*.jsonl")):
        for r in _rows(path):
            adjudicated[r["id"]] = r["labels"]
    train, locked = [], []
    for path in sorted((HERE / "raw").glob("*.jsonl")):
        for r in _rows(path):
            if r["id"] in adjudicated:
                r["labels"] = adjudicated[r["id"]]
            row = [r["id"], r["voice"], r["setting"], r["age"], r["text"],
                   *[int(t in r["labels"]) for t in THEMES], int(bool(r["hard_negatives"]))]
            (locked if r["voice"].startswith("locked_") else train).append(row)
    _write(HERE / "independent.csv", header, train)
    _write(ROOT / "locked" / "locked.csv", header, locked)
    reals = sorted((ROOT / "realworld").glob("realworld*.jsonl"))
    if reals:
        rows = [[r["id"], r["source_url"], r.get("source_title", ""), r["text"],
                 *["?" if t in r["uncertain"] else int(t in r["labels"]) for t in THEMES]]
                for real in reals for r in _rows(real)]
        _write(ROOT / "realworld" / "realworld.csv", ["id", "source_url", "source_title", "narrative", *THEMES], rows)


if __name__ == "__main__":
    main()
