"""Generate the synthetic, labelled RHI corpus and the demo council export.

Everything here is invented: no real child, family, worker or council. Run from the repository
root with ``python training_data/synth/generate.py``; the output is deterministic for the seeds
below and is committed, so users never need to run this.

How a narrative is made
-----------------------
1. Pick a setting (home/care) and a writing style.
2. Pick the themes that are present from latent "situations" (family breakdown, exploitation,
   peer pull, placement unhappiness, ...) so that themes co-occur as they do in life.
3. Realise each present theme as one or two sentences drawn from many wordings
   (phrasebank.json), in the third person or the child's own words.
4. Add hard negatives for themes that are absent: negations, routine advice, questions the
   child would not answer, hypotheticals, other people's troubles, resolved history.
5. Add neutral episode detail, shuffle, and render in the style (abbreviations, typos, missing
   punctuation, headings, times, several episodes).
The label of a theme is 1 exactly when a step-3 sentence for it was included.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BANK = json.loads((HERE / "phrasebank.json").read_text(encoding="utf-8"))
THEMES = list(BANK["themes"])

# Latent situations: (weight, setting restriction, {theme: probability}).
SITUATIONS = [
    (14, None, {"parental_conflict": 0.85, "parent_child_conflict": 0.35, "domestic_abuse": 0.25,
                "mental_health": 0.25, "school_bullying": 0.2, "peer_pull": 0.2}),
    (10, None, {"parent_child_conflict": 0.9, "peer_pull": 0.35, "school_bullying": 0.25,
                "substance_misuse": 0.2, "parental_conflict": 0.15}),
    (6, None, {"domestic_abuse": 0.9, "parental_conflict": 0.6, "abuse_neglect": 0.25,
               "mental_health": 0.3}),
    (5, None, {"abuse_neglect": 0.9, "parent_child_conflict": 0.3, "domestic_abuse": 0.25,
               "mental_health": 0.3}),
    (11, None, {"exploitation_risk": 0.9, "substance_misuse": 0.6, "peer_pull": 0.4,
                "criminal_activity": 0.4, "hurt_or_harmed": 0.25, "mental_health": 0.15}),
    (9, None, {"peer_pull": 0.9, "substance_misuse": 0.35, "parent_child_conflict": 0.25,
               "school_bullying": 0.15}),
    (5, None, {"criminal_activity": 0.9, "peer_pull": 0.5, "substance_misuse": 0.4,
               "hurt_or_harmed": 0.2}),
    (6, None, {"hurt_or_harmed": 0.9, "substance_misuse": 0.35, "peer_pull": 0.3,
               "exploitation_risk": 0.2}),
    (8, None, {"mental_health": 0.9, "school_bullying": 0.3, "bereavement_loss": 0.15,
               "parent_child_conflict": 0.2}),
    (7, None, {"school_bullying": 0.9, "mental_health": 0.3, "peer_pull": 0.2,
               "parent_child_conflict": 0.3}),
    (6, None, {"bereavement_loss": 0.9, "mental_health": 0.45, "parent_child_conflict": 0.2}),
    (14, "care", {"placement_issues": 0.9, "peer_pull": 0.35, "substance_misuse": 0.2,
                  "exploitation_risk": 0.15, "mental_health": 0.2, "parental_conflict": 0.1}),
    (12, None, {}),  # nothing recorded beyond the episode itself
]

STYLES = ["duty", "child_centred", "care_log", "police", "long", "short"]
STYLE_WEIGHTS = {"home": [30, 28, 0, 14, 12, 8], "care": [22, 20, 30, 10, 10, 8]}

ABBREV = [
    (r"\byoung person\b", "YP"), (r"\bsocial worker\b", "SW"), (r"\bfoster carer\b", "FC"),
    (r"\bdomestic abuse\b", "DA"), (r"\bwith\b", "w/"), (r"\bregarding\b", "re"),
    (r"\bbecause\b", "cos"), (r"\bmother\b", "M"), (r"\bfather\b", "F"), (r"\bmum\b", "M"),
    (r"\bdad\b", "D"), (r"\bpolice\b", "police"), (r"\band\b", "&"), (r"\babout\b", "abt"),
    (r"\bthe\b", ""), (r"\bchildren's home\b", "resi"), (r"\bschool\b", "sch"),
]


class Person:
    """Pronouns and names for one child."""

    def __init__(self, rng: random.Random):
        self.female = rng.random() < 0.55
        pool = BANK["fill"]["name_f" if self.female else "name_m"]
        self.name = rng.choice(pool)
        self.he, self.him, self.his = ("she", "her", "her") if self.female else ("he", "him", "his")


def fill(template: str, rng: random.Random, who: Person, name: str) -> str:
    f = BANK["fill"]
    values = {
        "name": name, "he": who.he, "him": who.him, "his": who.his,
        "He": who.he.capitalize(), "His": who.his.capitalize(),
    }
    for _ in range(3):  # fillers may contain placeholders themselves
        def sub(m: re.Match) -> str:
            key = m.group(1)
            if key in values:
                return values[key]
            if key in f:
                return rng.choice(f[key])
            return m.group(0)
        template = re.sub(r"\{(\w+)\}", sub, template)
    return template


def pick_themes(rng: random.Random, setting: str, boost: dict[str, float]) -> set[str]:
    options = [s for s in SITUATIONS if s[1] in (None, setting)]
    weights = [s[0] * boost.get(str(i), 1.0) for i, s in enumerate(options)]
    present: set[str] = set()
    n_sit = 1 if rng.random() < 0.7 else 2
    for _ in range(n_sit):
        _, _, probs = rng.choices(options, weights=weights)[0]
        for theme, p in probs.items():
            if rng.random() < p:
                present.add(theme)
    if setting == "home":
        present.discard("placement_issues")
    elif rng.random() < 0.15:
        present.add("placement_issues")  # unhappiness with placement runs through care episodes
    return present


def theme_sentences(theme: str, rng: random.Random, who: Person, name: str, style: str) -> list[str]:
    bank = BANK["themes"][theme]
    out = []
    n = 1 if rng.random() < 0.75 else 2
    for _ in range(n):
        if style in ("child_centred", "long") and bank["quote"] and rng.random() < 0.35:
            quote = fill(rng.choice(bank["quote"]), rng, who, name)
            lead = rng.choice(["{name} said", "In {his} words:", "{He} told me", "{name} explained"])
            out.append(f'{fill(lead, rng, who, name)} "{quote}"')
        else:
            out.append(fill(rng.choice(bank["pos"]), rng, who, name))
    return list(dict.fromkeys(out))


def hard_negatives(absent: list[str], present: set[str], rng: random.Random, who: Person,
                   name: str) -> list[str]:
    out = []
    k = rng.choice([1, 1, 2, 2, 3])
    for theme in rng.sample(absent, min(k, len(absent))):
        bank = BANK["themes"][theme]
        kind = rng.choices(["neg", "frame", "other", "historical"], weights=[3, 6, 2, 2])[0]
        if kind == "neg" and bank["neg"]:
            out.append(fill(rng.choice(bank["neg"]), rng, who, name))
        elif kind == "other" and bank["other"]:
            out.append(fill(rng.choice(bank["other"]), rng, who, name))
        elif kind == "historical" and bank["historical"]:
            out.append(fill(rng.choice(bank["historical"]), rng, who, name))
        else:
            frame_kind = rng.choices(["negated", "advice", "question", "hypothetical"],
                                     weights=[5, 4, 2, 1])[0]
            frame = rng.choice(BANK["frames"][frame_kind])
            topic = fill(rng.choice(bank["topic"]), rng, who, name)
            out.append(fill(frame.replace("{topic}", topic), rng, who, name))
    # Other people's troubles also appear for present themes (they must not add evidence).
    for theme in sorted(present):
        if rng.random() < 0.1 and BANK["themes"][theme]["other"]:
            out.append(fill(rng.choice(BANK["themes"][theme]["other"]), rng, who, name))
    return out


def neutral(rng: random.Random, who: Person, name: str, k: int) -> list[str]:
    return [fill(t, rng, who, name) for t in rng.sample(BANK["neutral"], k)]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 2)
    op = rng.random()
    if op < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op < 0.8:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def terse(sentence: str, rng: random.Random) -> str:
    s = sentence
    for pat, rep in ABBREV:
        if rng.random() < 0.6:
            s = re.sub(pat, rep, s, flags=re.IGNORECASE)
    words = [typo(w, rng) if rng.random() < 0.03 else w for w in s.split()]
    s = " ".join(words)
    return s.lower() if rng.random() < 0.5 else s


def cap(s: str) -> str:
    s = s.strip()
    return s[:1].upper() + s[1:] if s else s


def join_sentences(sents: list[str], rng: random.Random, punct: bool) -> str:
    if not punct:
        seps = [" ", " - ", "  ", "\n", ". "]
        out = sents[0]
        for s in sents[1:]:
            out += rng.choice(seps) + s
        return out
    return " ".join(cap(s).rstrip(".") + "." for s in sents)


def render(style: str, setting: str, rng: random.Random, who: Person, theme_sents: list[str],
           negs: list[str], date: dt.date) -> str:
    name = who.name
    if style == "short":
        lines = ["YP declined RHI.", "Declined RHI - no info given.", f"{name} refused to engage with RHI worker.",
                 "RHI offered, YP did not want to talk.", "No RHI - YP not home on 3 visits.",
                 f"{name} would only say {who.he} was fine.", "Declined. Mum says all OK."]
        base = rng.choice(lines)
        if theme_sents:
            return base + " " + cap(theme_sents[0]) + "."
        return base + (" " + cap(negs[0]) + "." if negs and rng.random() < 0.4 else "")
    nname = "YP" if style in ("duty", "police") and rng.random() < 0.6 else name
    body = theme_sents + negs
    k = {"duty": 2, "child_centred": 3, "care_log": 3, "police": 2, "long": 4}[style]
    body += neutral(rng, who, nname, rng.randint(1, k))
    rng.shuffle(body)
    if style == "duty":
        body = [terse(s.replace(name, nname), rng) for s in body]
        return join_sentences(body, rng, punct=rng.random() < 0.4)
    if style == "police":
        ref = f"MP{rng.randint(10000, 99999)}/{str(date.year)[2:]}"
        head = (f"{ref} {date:%d/%m/%Y} Reported missing {fill('{time}', rng, who, name)}. "
                f"Located {fill('{time}', rng, who, name)} by PC {rng.randint(100, 9999)}.")
        body = [terse(s, rng) if rng.random() < 0.5 else s for s in body]
        return head + " Officer notes: " + join_sentences(body, rng, punct=rng.random() < 0.6)
    if style == "care_log":
        t1, t2 = fill("{time}", rng, who, name), fill("{time}", rng, who, name)
        head = rng.choice([
            f"{name} absent from placement from {t1}, reported missing at {t2}.",
            f"{t1} {name} left the home without permission. Staff searched local area. Reported to police {t2}.",
            f"Missing from care. {name} did not return by curfew ({t1}). FC contacted EDT and police at {t2}.",
        ])
        return head + "\n" + join_sentences(body, rng, punct=rng.random() < 0.8)
    if style == "child_centred":
        half = max(1, len(body) // 2)
        heads = [("Reason for going missing:", "What {name} told me:"),
                 ("Push/pull factors:", "Risks and worries:"),
                 ("{name}'s account:", "Worker's analysis:")]
        h1, h2 = rng.choice(heads)
        tail = rng.choice(["Actions: safety plan agreed, info to SW.",
                           "Next steps: follow up visit in two weeks.",
                           "Outcome: no further action by missing team, SW informed.", ""])
        return (fill(h1, rng, who, name) + "\n" + join_sentences(body[:half], rng, True) + "\n" +
                fill(h2, rng, who, name) + "\n" + join_sentences(body[half:], rng, True) +
                ("\n" + tail if tail else ""))
    # long: several episodes, the body split among them
    n_ep = rng.randint(2, 4)
    chunks: list[list[str]] = [[] for _ in range(n_ep)]
    for i, s in enumerate(body):
        chunks[i % n_ep].append(s)
    parts = []
    d = date - dt.timedelta(days=rng.randint(20, 90))
    for i, chunk in enumerate(chunks):
        d = d + dt.timedelta(days=rng.randint(3, 30))
        if chunk:
            parts.append(f"Episode {i + 1} ({d:%d/%m}): " + join_sentences(chunk, rng, True))
    return "\n\n".join(parts)


def make_narrative(rng: random.Random, setting: str, boost: dict[str, float] | None = None,
                   date: dt.date | None = None, style: str | None = None):
    who = Person(rng)
    date = date or dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
    style = style or rng.choices(STYLES, weights=STYLE_WEIGHTS[setting])[0]
    present = pick_themes(rng, setting, boost or {})
    if style == "short":
        present = set(rng.sample(sorted(present), 1)) if present and rng.random() < 0.4 else set()
    t_sents = []
    for theme in sorted(present):
        t_sents += theme_sentences(theme, rng, who, who.name, style)
    absent = [t for t in THEMES if t not in present and not (setting == "home" and t == "placement_issues")]
    negs = hard_negatives(absent, present, rng, who, who.name) if rng.random() < 0.6 else []
    text = render(style, setting, rng, who, t_sents, negs, date)
    labels = {t: int(t in present) for t in THEMES}
    return text, labels, style, bool(negs), who


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def corpus(n: int, seed: int, prefix: str) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        setting = "care" if rng.random() < 0.35 else "home"
        text, labels, style, hard, _ = make_narrative(rng, setting)
        rows.append({"id": f"{prefix}{i:05d}", "narrative": text, "setting": setting,
                     "style": style, "hard_negative": int(hard), **labels})
    return rows


TICKBOXES = {
    "been_hurt_or_harmed": ("hurt_or_harmed", "abuse_neglect"),
    "engaged_in_criminal_activity": ("criminal_activity",),
    "mental_health_issues": ("mental_health",),
    "risk_of_exploitation": ("exploitation_risk",),
}


def demo(seed: int = 2025) -> tuple[list[dict], list[dict]]:
    """807 RHIs for the fictional Northmoor Borough Council, 1 Jan - 31 Dec 2025."""
    rng = random.Random(seed)
    n = 807
    children = []
    for c in range(540):
        children.append((f"C{100000 + c * 7}", "care" if rng.random() < 0.3 else "home"))
    # Some children go missing several times: draw children with a skewed weight.
    weights = [rng.paretovariate(1.6) for _ in children]
    rows, truth = [], []
    for i in range(n):
        child_id, setting = rng.choices(children, weights=weights)[0]
        miss = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(365))
        interview = miss + dt.timedelta(days=rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 7, 10]))
        if interview.year > 2025:
            interview = dt.date(2025, 12, 31)
        text, labels, style, _, who = make_narrative(rng, setting, boost={"0": 0.6}, date=miss)
        if rng.random() < 0.006 or i in (57, 211, 433, 702):  # a few blank exports, as in life
            text = "" if i % 2 else "   "
            labels = {t: 0 for t in THEMES}
        rhi_id = f"RHI-25-{i + 1:04d}"
        ticks = {}
        for col, themes in TICKBOXES.items():
            truth_flag = any(labels[t] for t in themes)
            if truth_flag:
                ticks[col] = "Y" if rng.random() < 0.8 else "N"
            else:
                ticks[col] = "Y" if rng.random() < 0.03 else "N"
        rows.append({
            "rhi_id": rhi_id, "child_id": child_id,
            "missing_episode_date": miss.isoformat(), "interview_date": interview.isoformat(),
            "setting": {"home": "Home", "care": rng.choice(["Foster care", "Residential"])}[setting],
            "interviewer_type": rng.choice(["Independent RHI worker"] * 3 + ["Social worker", "Family support worker"]),
            **ticks, "narrative": text,
        })
        truth.append({"rhi_id": rhi_id, **labels})
    rows.sort(key=lambda r: r["interview_date"])
    order = {r["rhi_id"]: k for k, r in enumerate(rows)}
    truth.sort(key=lambda r: order[r["rhi_id"]])
    return rows, truth


CODES = {"pc": "parental_conflict", "pcc": "parent_child_conflict", "da": "domestic_abuse",
         "an": "abuse_neglect", "hh": "hurt_or_harmed", "ca": "criminal_activity",
         "ex": "exploitation_risk", "sm": "substance_misuse", "mh": "mental_health",
         "pp": "peer_pull", "sb": "school_bullying", "pl": "placement_issues",
         "bl": "bereavement_loss"}


def handwritten() -> list[dict]:
    """Parse training_data/handwritten/handwritten.txt (hand-written, hand-labelled)."""
    text = (ROOT / "handwritten" / "handwritten.txt").read_text(encoding="utf-8")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    rows = []
    for i, block in enumerate(b for b in body.split("\n@ ") if b.strip()):
        codes, _, narrative = block.lstrip("@ ").partition("\n")
        present = {CODES[c.strip()] for c in codes.split(",") if c.strip() not in ("-", "")}
        rows.append({"id": f"W{i:04d}", "narrative": narrative.strip(),
                     **{t: int(t in present) for t in THEMES}})
    return rows


def main() -> int:
    write_csv(ROOT / "handwritten" / "handwritten.csv", handwritten())
    train = corpus(3000, seed=11, prefix="S")
    heldout = corpus(600, seed=97, prefix="H")
    write_csv(ROOT / "corpus.csv", train)
    write_csv(ROOT / "heldout" / "heldout.csv", heldout)
    rows, truth = demo()
    write_csv(ROOT / "demo" / "northmoor_rhi_2025.csv", rows)
    write_csv(ROOT / "demo" / "northmoor_rhi_2025_true_labels.csv", truth)
    for name, data in (("corpus", train), ("heldout", heldout)):
        counts = {t: sum(r[t] for r in data) for t in THEMES}
        print(name, len(data), counts, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
