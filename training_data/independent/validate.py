"""Check hand-written narrative files (JSON Lines) before they enter the corpus.

Usage: python training_data/independent/validate.py FILE.jsonl [FILE.jsonl ...]

One JSON object per line:
  {"id": "duty-0001", "voice": "duty", "setting": "home|care|other", "age": 14,
   "text": "...", "labels": ["parental_conflict", ...], "hard_negatives": ["exploitation_risk"],
   "note": "optional: why a label was hard"}
Real-world files (training_data/realworld/) use "source_url", "source_title" and "uncertain"
(themes the text leaves open) instead of voice/setting/age/hard_negatives.

Prints per-theme counts, the share with a hard negative, and anything wrong (by line number).
Exit 1 when an error is found. Stdlib only.
"""
from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

THEMES = (
    "parental_conflict parent_child_conflict domestic_abuse abuse_neglect hurt_or_harmed "
    "criminal_activity exploitation_risk substance_misuse mental_health peer_pull "
    "school_bullying placement_issues bereavement_loss"
).split()
SETTINGS = {"home", "care", "other"}


def _shingles(text: str, k: int = 8) -> set:
    words = re.findall(r"[a-z']+", text.lower())
    return {" ".join(words[i:i + k]) for i in range(max(0, len(words) - k + 1))}


def check(path: Path) -> tuple[list[str], list[dict]]:
    errors, rows = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{path.name}:{n}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{path.name}:{n}: a line must be a JSON object")
            continue
        real = "source_url" in obj
        adjudicated = "reason" in obj and "text" not in obj
        need = (["id", "labels", "reason"] if adjudicated else ["id", "text", "labels"] +
                (["source_url", "uncertain"] if real else ["voice", "setting", "age", "hard_negatives"]))
        missing = [k for k in need if k not in obj]
        if missing:
            errors.append(f"{path.name}:{n}: missing keys {missing}")
            continue
        if adjudicated:
            bad = [v for v in obj["labels"] if v not in THEMES] if isinstance(obj["labels"], list) else obj["labels"]
            if bad:
                errors.append(f"{path.name}:{n}: labels has unknown theme ids {bad}")
            obj["_line"] = n
            rows.append(obj)
            continue
        if not isinstance(obj["text"], str) or len(obj["text"].strip()) < 5:
            errors.append(f"{path.name}:{n}: text must be a non-empty string")
        for key in ("labels", "uncertain", "hard_negatives"):
            if key in obj:
                vals = obj[key]
                if not isinstance(vals, list) or any(v not in THEMES for v in vals):
                    bad = [v for v in vals] if not isinstance(vals, list) else [v for v in vals if v not in THEMES]
                    errors.append(f"{path.name}:{n}: {key} has unknown theme ids {bad}; allowed: {THEMES}")
                elif len(set(vals)) != len(vals):
                    errors.append(f"{path.name}:{n}: {key} repeats a theme")
        if not real:
            if obj["setting"] not in SETTINGS:
                errors.append(f"{path.name}:{n}: setting must be one of {sorted(SETTINGS)}")
            if not isinstance(obj["age"], int) or not 8 <= obj["age"] <= 18:
                errors.append(f"{path.name}:{n}: age must be a whole number 8-18")
            both = set(obj.get("labels", [])) & set(obj.get("hard_negatives", []))
            if both and isinstance(obj.get("labels"), list):
                pass  # allowed: a negated mention beside a real one
        else:
            both = set(obj.get("labels", [])) & set(obj.get("uncertain", []))
            if both:
                errors.append(f"{path.name}:{n}: a theme cannot be both labelled and uncertain: {sorted(both)}")
        obj["_line"] = n
        rows.append(obj)
    return errors, rows


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    all_errors, all_rows = [], []
    for name in argv:
        errors, rows = check(Path(name))
        all_errors += errors
        all_rows += [(name, r) for r in rows]
    ids = collections.Counter(r["id"] for _, r in all_rows)
    all_errors += [f"duplicate id {i!r} ({c} times)" for i, c in ids.items() if c > 1]
    texts = collections.Counter(r["text"].strip().lower() for _, r in all_rows)
    all_errors += [f"{c} narratives share the same text (id {next(r['id'] for _, r in all_rows if r['text'].strip().lower() == t)})"
                   for t, c in texts.items() if c > 1]
    # Templating check: 8-word runs that recur in many narratives.
    df = collections.Counter()
    for _, r in all_rows:
        df.update(_shingles(r["text"]))
    common = [(s, c) for s, c in df.most_common(15) if c >= max(5, len(all_rows) // 40)]
    n = len(all_rows)
    print(f"{n} narratives in {len(argv)} file(s)")
    if n:
        words = sorted(len(r["text"].split()) for _, r in all_rows)
        print(f"words per narrative: median {words[n // 2]}, min {words[0]}, max {words[-1]}")
        counts = collections.Counter(t for _, r in all_rows for t in r["labels"])
        hn = sum(1 for _, r in all_rows if r.get("hard_negatives"))
        none = sum(1 for _, r in all_rows if not r["labels"])
        print(f"with a hard negative: {hn} ({hn / n:.0%}); with no theme: {none} ({none / n:.0%})")
        for t in THEMES:
            print(f"  {t:24s} {counts[t]:5d}  ({counts[t] / n:.0%})")
        voices = collections.Counter(r.get("voice", "realworld") for _, r in all_rows)
        print("voices:", dict(voices))
    if common:
        print("8-word runs repeated across many narratives (rewrite these: each narrative is written on its own):")
        for s, c in common:
            print(f"  {c:4d}x  {s}")
    for e in all_errors:
        print("ERROR", e)
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
