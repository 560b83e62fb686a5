"""Agreement between the first labels (raw/) and the blind second labels (second/): per-theme
Cohen's kappa and raw agreement, and the disagreements to adjudicate.

    python training_data/independent/agreement.py [--write-disagreements FILE.jsonl]

The adjudicated labels (adjudicated/*.jsonl: {"id", "labels", "reason"}) replace the first labels
when the corpus is built, so the corpus holds the adjudicated answer for every double-labelled
narrative.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from validate import THEMES

HERE = Path(__file__).resolve().parent


def _load(folder: str) -> dict[str, dict]:
    out = {}
    for p in sorted((HERE / folder).glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[r["id"]] = r
    return out


def kappa(a: list[int], b: list[int]) -> float | None:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return None if pe == 1 else (po - pe) / (1 - pe)


def agreement() -> tuple[dict, list[dict]]:
    first, second = _load("raw"), _load("second")
    ids = [i for i in second if i in first]
    table = {}
    for t in THEMES:
        a = [int(t in first[i]["labels"]) for i in ids]
        b = [int(t in second[i]["labels"]) for i in ids]
        k = kappa(a, b)
        table[t] = {"n": len(ids), "first_pos": sum(a), "second_pos": sum(b),
                    "agreement": round(sum(x == y for x, y in zip(a, b)) / len(ids), 4) if ids else None,
                    "kappa": None if k is None else round(k, 3)}
    disagreements = []
    for i in ids:
        fa, sb = set(first[i]["labels"]), set(second[i]["labels"])
        if fa != sb:
            disagreements.append({"id": i, "voice": first[i]["voice"], "text": first[i]["text"],
                                  "first": sorted(fa), "second": sorted(sb),
                                  "only_first": sorted(fa - sb), "only_second": sorted(sb - fa),
                                  "first_note": first[i].get("note", ""), "second_note": second[i].get("note", "")})
    return table, disagreements


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-disagreements", default=None)
    args = ap.parse_args()
    table, dis = agreement()
    n = next(iter(table.values()))["n"]
    print(f"{n} narratives labelled twice, blind; {len(dis)} differ on at least one theme")
    print(f"{'theme':<24}{'1st pos':>8}{'2nd pos':>8}{'agree':>8}{'kappa':>8}")
    for t, m in table.items():
        k = "-" if m["kappa"] is None else f"{m['kappa']:.3f}"
        print(f"{t:<24}{m['first_pos']:>8}{m['second_pos']:>8}{m['agreement']:>8.3f}{k:>8}")
    (HERE / "agreement.json").write_text(json.dumps({"n": n, "themes": table, "n_disagreements": len(dis)}, indent=2) + "\n")
    if args.write_disagreements:
        with open(args.write_disagreements, "w", encoding="utf-8") as fh:
            for d in dis:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
