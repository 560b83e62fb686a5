"""Draw a blind sample for a second labeller: a fixed number of narratives per voice, text only.

Usage: python training_data/independent/draw_second.py OUT.jsonl N_PER_VOICE VOICE [VOICE ...]
The output holds only id and text (no labels, no notes), in a shuffled order. Deterministic.
"""
import json
import random
import sys
from pathlib import Path

RAW = Path(__file__).resolve().parent / "raw"


def main(out: str, n: str, *voices: str) -> None:
    rng = random.Random(20261125)
    picked = []
    for v in voices:
        rows = [json.loads(line) for line in (RAW / f"{v}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        picked += rng.sample(rows, min(int(n), len(rows)))
    rng.shuffle(picked)
    with open(out, "w", encoding="utf-8") as fh:
        for r in picked:
            fh.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
    print(f"{len(picked)} narratives -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
