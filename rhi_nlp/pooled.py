"""A pooled file with one audit per group (a consortium's RHIs, one audit per council).

Each council labels a random sample of its own narratives only (`rhi-nlp sample --by council`
writes one audit file per council, so no council reads another's children). Councils are then
strata of a stratified random sample (Cochran 1977 ch. 5; Lohr 2019 ch. 3):

* a council's count is the difference estimator of its own random audit (finite population
  correction, t interval, small-count guard), exactly as for a single council's file;
* the pooled count is the stratified difference estimator over councils,
  T = sum_h [sum_{U_h} f + N_h mean_h(y - f)], V = sum_h N_h^2 (1 - n_h/N_h) s_h^2 / n_h,
  df = sum(n_h - 1), valid because each council's audit is a random sample of that council.

A council smaller than the sample size is labelled in full (a census: its count is exact and adds
no variance). For a period, each council's part is the domain estimate within that council,
conditional on the number of its audited narratives in the period, as for a single file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import estimate as est
from .errors import AuditError, InputError
from .io import fetch_values, file_format, new_folder, read_columns

AUDIT_SUFFIXES = (".csv", ".xlsx", ".parquet")


def audit_file_name(group: str, taken: set[str], suffix: str = ".csv") -> str:
    """A safe, unique file name for a group's audit (the group's value with anything but letters,
    digits, '-' and '_' replaced)."""
    stem = "audit_" + (re.sub(r"[^A-Za-z0-9_-]+", "_", group).strip("_") or "blank")
    name, k = stem + suffix, 2
    while name.lower() in taken:
        name, k = f"{stem}_{k}{suffix}", k + 1
    taken.add(name.lower())
    return name


def draw_group_samples(tagged_path, out_dir: str | Path, *, by: str, size: int, seed: int = 0, id_col: str = "id",
                       text_col: str = "narrative", suffix: str = ".csv") -> dict:
    """One random audit per value of ``by`` (e.g. council) from a pooled tagged file, each written
    to its own file in ``out_dir``: ``size`` narratives per group, or all of a smaller group."""
    from .foi import _draw, check_filled, draw_sample, load_tagged

    out_dir = Path(out_dir)
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"--format must be csv or xlsx, not {suffix.lstrip('.')!r}")
    if size < 2:
        raise InputError("--size must be at least 2 narratives per group")
    # the pooled file without its narratives (millions of them would not fit in a laptop's memory):
    # draw every group's sample, then read only the drawn rows' narratives
    tagged = load_tagged(tagged_path, id_col=id_col, keep={by})
    if by not in tagged.df.columns:
        raise InputError(f"{tagged.path}: --by column {by!r} not found")
    if text_col not in read_columns(tagged.path):
        raise InputError(f"{tagged.path}: column {text_col!r} not found; pass --text-col")
    rec = tagged.recorded
    check_filled(rec, by, id_col, tagged.path, what="value",
                 why="every recorded narrative needs its group to be audited by group")
    groups = sorted(rec[by].astype(str).unique())
    drawn = {g: _draw(tagged, size=size, design="random", theme=None, seed=seed, unit="rhi", child_col=None,
                      within=(by, g)).ids for g in groups}
    narratives = fetch_values(tagged.path, id_col, text_col, (i for ids in drawn.values() for i in ids))
    taken: set[str] = set()
    files = []
    with new_folder(out_dir) as tmp:  # all the audits, or none (no half-drawn set to label)
        for g in groups:
            name = audit_file_name(g, taken, suffix)
            info = draw_sample(tagged, tmp / name, size=size, seed=seed, id_col=id_col, text_col=text_col,
                               within=(by, g), narratives={i: narratives[i] for i in drawn[g]})
            files.append({"group": g, "file": str(out_dir / name), "units": info["units"],
                          "population": info["population"], "census": info["units"] == info["population"]})
    return {"by": by, "groups": files, "output": str(out_dir), "label_columns": list(tagged.theme_ids)}


def audit_paths(audit) -> list[Path]:
    """The audit files named: one file, a folder of audit files, or a list of either."""
    items = audit if isinstance(audit, (list, tuple)) else [audit]
    paths: list[Path] = []
    for a in items:
        a = Path(a)
        if a.is_dir():
            found = sorted(p for p in a.iterdir() if p.suffix.lower() in AUDIT_SUFFIXES and not p.name.startswith((".", "~$"))
                           and p.is_file())
            if not found:
                raise AuditError(f"{a}: the folder holds no audit file (.csv, .xlsx or .parquet)")
            paths += found
        else:
            file_format(a)  # a clear error for an unsupported suffix
            paths.append(a)
    return paths


def design_columns(paths: list[Path]) -> set[str]:
    """The tagged file's columns the audits' designs name (group and child columns), read from
    their first row; each audit is checked in full when it is loaded."""
    from .io import read_table

    names = ("audit_group_col", "audit_child_col")
    cols = set()
    for p in paths:
        try:
            df = read_table(p, excel_escaped=True, columns=set(names).__contains__)
        except InputError:
            continue  # load_audit reports it
        for c in names:
            if c in df.columns and len(df) and str(df[c].iloc[0]).strip():
                cols.add(str(df[c].iloc[0]))
    return cols


def group_audits(audits: list, tagged, by: str | None) -> tuple[str, dict]:
    """Check a set of per-group audits against each other and return (group column, {group: audit})."""
    cols = {a.within[0] for a in audits if a.within}
    plain = [a for a in audits if not a.within]
    if plain:
        raise AuditError(f"{plain[0].path} is an audit of the whole file; it cannot be combined with other audits "
                         f"(give one audit, or one audit per group from rhi-nlp sample --by)")
    if len(cols) != 1:
        raise AuditError("the audits were drawn per different columns: give audits drawn with the same --by")
    (col,) = cols
    if by and by != col:
        raise AuditError(f"the audits were drawn one per {col!r}: estimate with --by {col} (not --by {by})")
    out: dict[str, object] = {}
    for a in audits:
        g = a.within[1]
        if g in out:
            raise AuditError(f"{a.path} and {out[g].path} are both audits of {col} {g!r}: give one audit per group")
        out[g] = a
    return col, dict(sorted(out.items()))


def pooled_estimate(f: np.ndarray, groups: np.ndarray, pos: dict, audits: dict, labels, *,
                    alpha: float) -> tuple[est.Estimate, list[str]]:
    """Stratified difference estimate over groups. ``f`` and ``groups`` describe the recorded
    narratives in the period, ``pos`` maps each one's id to its position; ``labels(audit)`` gives
    an audit's 0/1 labels by id."""
    codes, present = pd.factorize(np.asarray(groups, dtype=object), sort=True)  # strata as integers
    present = set(present)
    sample, y = [], []
    for g, a in audits.items():
        lab = labels(a)
        in_dom = [i for i in lab.index if i in pos]
        if not in_dom and g in present:
            raise AuditError(f"{a.path}: no audited narrative of {g!r} falls in this period, so the pooled figure "
                             f"cannot be estimated; draw a larger audit for it")
        sample += [pos[i] for i in in_dom]
        y += lab.loc[in_dom].tolist()
    sample_a, y_a = np.array(sample, dtype=int), np.array(y, float)
    e = est.stratified_estimate(f, codes, sample_a, y_a, alpha=alpha,
                                method="stratified difference estimator (one random audit per group, finite "
                                       "population correction)")
    H = len(present)
    census = sum(1 for g, a in audits.items() if g in present and a.N == len(a.drawn.ids))
    notes = [f"Pooled over {H} groups, each audited with a random sample of its own narratives "
             f"({len(sample_a)} audited in all); the groups are the strata of the audit."]
    if census:
        notes.append(f"{census} of the {H} groups had no more recorded narratives than the sample size, so all "
                     f"of theirs were labelled.")
    if e.guard:
        notes.append(e.guard[0].upper() + e.guard[1:] + ".")
    return e, notes
