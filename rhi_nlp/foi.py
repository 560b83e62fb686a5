"""FOI workflow over files: draw an audit sample, plan its size, estimate counts per theme.

This module reads the tagged file and the audit file, checks that they belong together, builds the
population (unit, period, subgroup) and calls the pure statistics in :mod:`rhi_nlp.estimate`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from . import estimate as est
from . import model_only
from .cells import is_blank
from .dates import parse_date_column
from .disclosure import DisclosureRule, audit_count_text, count_text, disclose
from .errors import AuditError, InputError, show_id
from .familiarity import COLUMN as FAMILIARITY_COL
from .files import same_file
from .io import describe_columns, parse_label, read_table, write_table
from .sampling import score_bands, srs, stratified
from .tagging import STATUS_COL
from .themes import load_themes, load_unions

# Design columns, the same on every row. Per-row strata and inclusion probabilities are not
# written (a stratum is a score band, which would show the labeller the model's view): they are
# recomputed from the tagged file by drawing the sample again, which also checks that the audit
# holds exactly the rows that were drawn.
AUDIT_COLS = ["audit_design", "audit_unit", "audit_child_col", "audit_theme", "audit_population",
              "audit_size", "audit_seed", "audit_source", "audit_ids_sha256"]
# An audit drawn within one group of a pooled file (rhi-nlp sample --by council) also names the
# group column and its value; older audits without these columns cover the whole file.
GROUP_COLS = ["audit_group_col", "audit_group"]
NOT_RECORDED = ("empty", "declined")
CENSUS_NOTE = "Every recorded narrative here was labelled by hand, so the count is exact (no sampling error)."
PILOT_PRIOR_WEIGHT = 40


# --- the tagged file ------------------------------------------------------------------------

@dataclass
class Tagged:
    path: Path
    df: pd.DataFrame            # all rows
    id_col: str
    theme_ids: tuple[str, ...]
    _fingerprint: str | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)   # derived once: a pooled file has many audits

    @property
    def recorded(self) -> pd.DataFrame:
        if "recorded" not in self._cache:
            self._cache["recorded"] = self.df[~self.df[STATUS_COL].isin(NOT_RECORDED)]
        return self._cache["recorded"]

    @property
    def ids(self) -> set[str]:
        if "ids" not in self._cache:
            self._cache["ids"] = set(self.df[self.id_col])
        return self._cache["ids"]

    def _group_rows(self, within: tuple[str, str]) -> np.ndarray:
        key = ("groups", within[0])
        if key not in self._cache:
            rec = self.recorded
            self._cache[key] = rec.groupby(rec[within[0]].astype(str), sort=False).indices
        return self._cache[key].get(within[1], np.zeros(0, dtype=np.int64))

    def population(self, within: tuple[str, str] | None = None) -> pd.DataFrame:
        """The recorded narratives, or those of one group (column, value), in file order."""
        rec = self.recorded
        return (rec.iloc[self._group_rows(within)] if within else rec).reset_index(drop=True)

    def population_size(self, within: tuple[str, str] | None = None) -> int:
        return len(self._group_rows(within)) if within else len(self.recorded)


def load_tagged(path: str | Path, *, id_col: str = "id", keep: set[str] | None = None) -> Tagged:
    """Read a tagged file without its evidence columns, or (``keep``) only the id, status and
    probability columns and those named, so that a large pooled file fits in memory."""
    path = Path(path)
    themes = [t.id for t in load_themes()]
    if keep is not None:
        wanted = {id_col, STATUS_COL, FAMILIARITY_COL, *(f"{t}_prob" for t in themes), *keep}
        df = read_table(path, columns=wanted.__contains__)
    else:
        skip = {f"{t}_evidence" for t in themes}
        df = read_table(path, columns=lambda c: c not in skip)
    missing = [c for c in [STATUS_COL] + [f"{t}_prob" for t in themes] if c not in df.columns]
    if missing:
        raise InputError(f"{path}: not a tagged file (missing column {missing[0]!r}); run rhi-nlp tag first")
    if id_col not in df.columns:
        raise InputError(f"{path}: column {id_col!r} not found ({describe_columns(list(df.columns))}); pass --id-col")
    df[id_col] = df[id_col].astype(str)
    dup = df[id_col][df[id_col].duplicated()]
    if len(dup):
        raise InputError(f"{path}: duplicate id {show_id(dup.iloc[0])} in column {id_col!r}")
    for t in themes:
        df[f"{t}_prob"] = pd.to_numeric(df[f"{t}_prob"], errors="coerce").fillna(0.0).astype(float)
    # plain NumPy object columns: estimation takes rows out of the frame once per group and theme,
    # and Arrow-backed strings are many times slower to take from
    text_cols = [c for c in df.columns if df[c].dtype != float and not pd.api.types.is_numeric_dtype(df[c])]
    df[text_cols] = df[text_cols].astype(object)
    return Tagged(path=path, df=df.reset_index(drop=True), id_col=id_col, theme_ids=tuple(themes))


def fingerprint(tagged: Tagged) -> str:
    """Identifies the tagged file an audit was drawn from: ids, statuses and probabilities
    (computed once per loaded file: a pooled file is checked against one audit per group)."""
    if tagged._fingerprint is None:
        tagged._fingerprint = _fingerprint(tagged)
    return tagged._fingerprint


def _fingerprint(tagged: Tagged) -> str:
    """sha256 of one line per row: id|status|p1|...|p13 with probabilities to 4 decimals (the
    columns formatted a block of rows at a time, not row by row: a pooled file has millions of rows,
    and the strings of all of them at once would take more memory than the file)."""
    h = hashlib.sha256()
    for start in range(0, len(tagged.df), 100_000):
        df = tagged.df.iloc[start:start + 100_000]
        block = [df[tagged.id_col].astype(str).tolist(), df[STATUS_COL].astype(str).tolist()]
        block += [np.char.mod("%.4f", df[f"{t}_prob"].to_numpy(float)).tolist() for t in tagged.theme_ids]
        h.update("".join("|".join(row) + "\n" for row in zip(*block)).encode())
    return h.hexdigest()[:16]


def resolve_theme(theme: str) -> tuple[str, str, str, tuple[str, ...]]:
    """(id, name, definition, component theme ids) for a theme or a union theme."""
    for t in load_themes():
        if t.id == theme:
            return t.id, t.name, t.definition, (t.id,)
    for u in load_unions():
        if u.id == theme:
            return u.id, u.name, u.definition, u.of
    known = [t.id for t in load_themes()] + [u.id for u in load_unions()]
    raise InputError(f"unknown theme {theme!r}; known: {', '.join(known)}")


def scores(df: pd.DataFrame, parts: tuple[str, ...]) -> np.ndarray:
    """Probability of the theme (for a union, 1 - prod(1 - p): an auxiliary score only)."""
    p = np.ones(len(df))
    for t in parts:
        p *= 1 - df[f"{t}_prob"].to_numpy(float)
    return 1 - p


# --- population: unit, period, subgroup -----------------------------------------------------

@dataclass(frozen=True)
class Period:
    date_col: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    date_format: str | None = None

    def describe(self) -> str:
        if not self.date_col:
            return "all dates in the file"
        a = f"{self.start.day} {self.start:%B %Y}" if self.start else "the first date"  # no %-d on Windows
        b = f"{self.end.day} {self.end:%B %Y}" if self.end else "the last date"
        return f"{a} to {b} (by {self.date_col})"


def period_mask(df: pd.DataFrame, period: Period, id_col: str, path: Path) -> np.ndarray:
    if not period.date_col:
        if period.start or period.end:
            raise InputError("--from/--to need --date-col to say which column holds the date")
        return np.ones(len(df), dtype=bool)
    if period.date_col not in df.columns:
        raise InputError(f"{path}: date column {period.date_col!r} not found")
    d = parse_date_column(df[period.date_col].tolist(), df[id_col].tolist(), column=period.date_col,
                          path=path, date_format=period.date_format)
    m = np.ones(len(df), dtype=bool)
    if period.start:
        m &= np.array([x >= period.start for x in d], dtype=bool)
    if period.end:
        m &= np.array([x <= period.end for x in d], dtype=bool)
    if not m.any():
        first, last = min(d), max(d)
        raise InputError(f"{path}: no RHI falls in {period.describe()}; the dates in column "
                         f"{period.date_col!r} run from {first:%Y-%m-%d} to {last:%Y-%m-%d}")
    return m


def check_filled(df: pd.DataFrame, col: str, id_col: str, path: Path, *, what: str, why: str) -> None:
    """Refuse rows with a blank ``col``, naming the first row's id and how many others."""
    blank = df[col].map(is_blank)
    if blank.any():
        rid = df[id_col].iloc[int(np.flatnonzero(blank.to_numpy())[0])]
        raise InputError(f"{path}: row id {show_id(rid)} (and {int(blank.sum()) - 1} other row(s)) has no {what} "
                         f"in column {col!r}; {why}")


def check_child_ids(df: pd.DataFrame, child_col: str, id_col: str, path: Path) -> None:
    """Counting children needs every RHI's child id: blank ids would merge into one child."""
    check_filled(df, child_col, id_col, path, what="child id",
                 why="counting children needs every RHI's child id (blank ids would be merged into one child)")


# --- audit sample ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Drawn:
    """A sample drawn from a tagged file: the design and the RHI ids it selects."""

    design: object            # sampling.AuditDesign over the units (RHIs or children)
    rec: pd.DataFrame         # the recorded narratives, in file order
    ids: list[str]            # the RHI ids drawn (all RHIs of the drawn children for --unit child)


def ids_hash(ids) -> str:
    return hashlib.sha256("\n".join(sorted(map(str, ids))).encode("utf-8")).hexdigest()[:16]


def _draw(tagged: Tagged, *, size: int, design: str, theme: str | None, seed: int, unit: str,
          child_col: str | None, within: tuple[str, str] | None = None) -> Drawn:
    """Draw (or draw again, to check an audit) a reproducible sample of the recorded narratives,
    or of one group's (``within`` = (column, value)): a census when the group is no larger than
    ``size``."""
    if design not in ("random", "stratified"):
        raise InputError(f"--design must be random or stratified, not {design!r}")
    if design == "stratified" and not theme:
        raise InputError("a stratified sample is stratified by one theme's probability: pass --theme")
    if design == "stratified" and unit == "child":
        raise InputError("samples of children are random only: use --design random with --unit child")
    parts = resolve_theme(theme)[3] if theme else ()
    if within and (design != "random" or unit != "rhi"):
        raise InputError("a sample per group (--by) is a random sample of RHIs: use --design random and --unit rhi")
    if within and within[0] not in tagged.df.columns:
        raise InputError(f"{tagged.path}: column {within[0]!r} not found")
    rec = tagged.population(within)
    keys = None
    if unit == "child":
        if not child_col or child_col not in rec.columns:
            raise InputError(f"--unit child needs --child-col naming a column of {tagged.path}")
        check_child_ids(rec, child_col, tagged.id_col, tagged.path)
        groups = rec.groupby(rec[child_col].astype(str), sort=True)
        keys = list(groups.groups)
        f = np.array([1 - np.prod(1 - scores(g, parts or (tagged.theme_ids[0],))) for _, g in groups])
    elif unit == "rhi":
        f = scores(rec, parts) if parts else np.zeros(len(rec))
    else:
        raise InputError(f"--unit must be rhi or child, not {unit!r}")
    N = len(f)
    if within and 1 <= N <= size:
        size = N  # a group no larger than the sample size is labelled in full (a census)
    elif not 2 <= size <= N:
        raise InputError(f"--size must be between 2 and {N} (the recorded {'children' if unit == 'child' else 'narratives'})")
    rng = np.random.default_rng(seed)
    d = stratified(f, size, rng) if design == "stratified" else srs(N, size, rng)
    if unit == "child":
        chosen = {keys[i] for i in d.sample}
        rows = rec[rec[child_col].astype(str).isin(chosen)]
    else:
        rows = rec.iloc[d.sample]
    return Drawn(design=d, rec=rec, ids=rows[tagged.id_col].astype(str).tolist())


def draw_sample(tagged_path: str | Path | Tagged, output: str | Path, *, size: int, design: str = "random",
                theme: str | None = None, seed: int = 0, id_col: str = "id", text_col: str = "narrative",
                unit: str = "rhi", child_col: str | None = None, labels_from: str | Path | None = None,
                within: tuple[str, str] | None = None, narratives: dict[str, object] | None = None) -> dict:
    """Draw a reproducible audit sample without replacement from the recorded narratives (or from
    one group's, ``within`` = (column, value)) and write it with empty label columns and the
    design (the same on every row). CSV audits are written Excel-safe: a cell Excel would run as a
    formula starts with an apostrophe. ``narratives``: the drawn rows' narratives by id, when the
    loaded file was read without its narrative column (see :func:`rhi_nlp.pooled.draw_group_samples`)."""
    tagged = tagged_path if isinstance(tagged_path, Tagged) else load_tagged(
        tagged_path, id_col=id_col, keep={c for c in (text_col, child_col, within and within[0]) if c})
    for src in (tagged.path, labels_from):
        if src is not None and same_file(src, output):
            raise InputError(f"{output}: the audit must not overwrite its input file {src}")
    if narratives is None and text_col not in tagged.df.columns:
        raise InputError(f"{tagged.path}: column {text_col!r} not found; pass --text-col")
    drawn = _draw(tagged, size=size, design=design, theme=theme, seed=seed, unit=unit, child_col=child_col,
                  within=within)
    label_themes = list(resolve_theme(theme)[3]) if theme else list(tagged.theme_ids)
    rows = drawn.rec.set_index(drawn.rec[id_col].astype(str)).loc[drawn.ids]
    out = pd.DataFrame({id_col: drawn.ids})
    if unit == "child":
        out[child_col] = rows[child_col].astype(str).to_numpy()
    out[text_col] = rows[text_col].to_numpy() if narratives is None else [narratives[i] for i in drawn.ids]
    for t in label_themes:
        out[t] = ""
    out["audit_design"] = drawn.design.design
    out["audit_unit"] = unit
    out["audit_child_col"] = child_col if unit == "child" else ""
    out["audit_theme"] = theme or ""
    out["audit_population"] = len(drawn.design.strata)
    out["audit_size"] = len(drawn.design.sample) if within else size
    out["audit_seed"] = seed
    out["audit_source"] = fingerprint(tagged)
    out["audit_ids_sha256"] = ids_hash(drawn.ids)
    if within:
        out["audit_group_col"], out["audit_group"] = within
    carried = 0
    if labels_from:
        prev = load_audit(labels_from, tagged)
        prev_df = prev.df.set_index(id_col)
        for t in label_themes:
            if t in prev_df.columns:
                known = out[id_col].map(prev_df[t]).map(parse_label)
                keep = known.isin([0, 1])
                out.loc[keep, t] = known[keep].astype(int).astype(str)
                carried = max(carried, int(keep.sum()))
    out = out.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # order hides the strata
    truncated = write_table(out, output, excel_safe=True)
    return {"carried_labels": carried, "rows": len(out), "units": len(drawn.design.sample),
            "population": len(drawn.design.strata),
            "design": drawn.design.design, "unit": unit, "label_columns": label_themes, "output": str(output),
            "truncated_cells": truncated}


@dataclass
class Audit:
    path: Path
    df: pd.DataFrame
    design: str
    unit: str
    theme: str
    N: int
    child_col: str = ""
    drawn: Drawn | None = None
    within: tuple[str, str] | None = None   # (group column, value) for an audit drawn per group


def _first(df: pd.DataFrame, col: str) -> str:
    v = df[col].iloc[0] if len(df) else ""
    return "" if is_blank(v) else str(v)


def load_audit(path: str | Path, tagged: Tagged) -> Audit:
    """Read an audit and check it is exactly the sample drawn from this tagged file: no row added,
    none missing, none duplicated (the sample is drawn again from its design columns)."""
    path = Path(path)
    df = read_table(path, excel_escaped=True)
    id_col = tagged.id_col
    if "sample_purpose" in df.columns and (df["sample_purpose"].astype(str) == "training").any():
        raise AuditError(f"{path} is a training sample (rhi-nlp sample --purpose training), chosen where the model "
                         f"is unsure, not at random: it cannot give an estimate. Draw an audit with rhi-nlp sample")
    if "audit_stratum" in df.columns and "audit_ids_sha256" not in df.columns:
        raise AuditError(f"{path} was drawn by an older rhi-nlp that did not record which rows were drawn; "
                         f"draw the sample again with rhi-nlp sample (same seed and size give the same rows)")
    missing = [c for c in [id_col] + AUDIT_COLS if c not in df.columns]
    if missing:
        raise AuditError(f"{path}: not an audit sample from rhi-nlp sample (missing column {missing[0]!r})")
    if not len(df):
        raise AuditError(f"{path}: the audit has no rows")
    df[id_col] = df[id_col].astype(str)
    group_cols = [c for c in GROUP_COLS if c in df.columns]
    for c in AUDIT_COLS + group_cols:
        if df[c].astype(str).nunique() > 1:
            raise AuditError(f"{path}: column {c!r} differs between rows; it must be the same on every row "
                             f"(the audit file was edited or combined with another)")
    dup = df[id_col][df[id_col].duplicated()]
    if len(dup):
        raise AuditError(f"{path}: row id {show_id(dup.iloc[0])} appears {int((df[id_col] == dup.iloc[0]).sum())} "
                         f"times; each drawn row must appear once (remove the copies)")
    if set(df["audit_source"].astype(str)) != {fingerprint(tagged)}:
        raise AuditError(f"{path} was drawn from another tagged file (or the file was re-tagged or edited "
                         f"since): estimate with the tagged file the sample was drawn from")
    known = tagged.ids
    stray = [i for i in df[id_col] if i not in known]
    if stray:
        raise AuditError(f"{path}: row id {show_id(stray[0])} is not in {tagged.path}")
    design, unit, theme = _first(df, "audit_design"), _first(df, "audit_unit"), _first(df, "audit_theme")
    child_col = _first(df, "audit_child_col") if unit == "child" else ""
    within = (_first(df, "audit_group_col"), _first(df, "audit_group")) if len(group_cols) == 2 else None
    if within and not within[0]:
        within = None
    if unit == "child" and child_col not in df.columns:
        raise AuditError(f"{path}: audit drawn by child but its child column {child_col!r} is missing")
    try:
        size, seed = int(float(_first(df, "audit_size"))), int(float(_first(df, "audit_seed")))
        N = int(float(_first(df, "audit_population")))
    except ValueError:
        raise AuditError(f"{path}: the audit_size, audit_seed and audit_population columns must be whole "
                         f"numbers (the audit file was edited)") from None
    try:
        drawn = _draw(tagged, size=size, design=design, theme=theme or None, seed=seed, unit=unit,
                      child_col=child_col or None, within=within)
    except InputError as exc:
        raise AuditError(f"{path}: its design columns do not describe a sample of {tagged.path} ({exc})") from None
    if ids_hash(drawn.ids) != _first(df, "audit_ids_sha256"):
        raise AuditError(f"{path}: its design columns (size, seed, design, theme, group) were edited: they no longer "
                         f"draw the rows recorded when the sample was made; draw the sample again")
    drawn_set, present = set(drawn.ids), set(df[id_col])
    added = [i for i in df[id_col] if i not in drawn_set]
    if added:
        raise AuditError(f"{path}: row id {show_id(added[0])} was not drawn in this sample ({len(added)} such "
                         f"row(s)); an audit must hold exactly the drawn rows: remove rows added by hand")
    lost = [i for i in drawn.ids if i not in present]
    if lost:
        raise AuditError(f"{path}: row id {show_id(lost[0])} was drawn but is missing from the audit "
                         f"({len(lost)} such row(s)); label the whole sample (deleting rows biases the estimate)")
    return Audit(path=path, df=df, design=design, unit=unit, theme=theme, N=N, child_col=child_col, drawn=drawn,
                 within=within)


def audit_labels(audit: Audit, parts: tuple[str, ...], id_col: str) -> pd.Series:
    """0/1 label per audited row id for a theme (or union); clear errors for missing or bad labels."""
    missing = [t for t in parts if t not in audit.df.columns]
    if missing:
        raise AuditError(f"{audit.path}: no label column {missing[0]!r}; this audit was drawn for "
                         f"{audit.theme or 'other themes'}")
    y = np.zeros(len(audit.df), dtype=int)
    for t in parts:
        for k, v in enumerate(audit.df[t].tolist()):
            label = parse_label(v)
            if label is None:
                raise AuditError(f"{audit.path}: row id {audit.df[id_col].iloc[k]!r}, column {t!r}: label is "
                                 f"missing; label every row 0 or 1 before estimating")
            if label < 0:
                raise AuditError(f"{audit.path}: row id {audit.df[id_col].iloc[k]!r}, column {t!r}: label must "
                                 f"be 0 or 1")
            y[k] = max(y[k], label)
    return pd.Series(y, index=audit.df[id_col].to_numpy())


# --- estimation -----------------------------------------------------------------------------

@dataclass
class ThemeResult:
    theme: str
    name: str
    definition: str
    estimate: est.Estimate
    unit: str
    period: str
    group: str | None
    n_rows_total: int
    n_not_recorded: int
    notes: list[str] = field(default_factory=list)
    shift: dict | None = None


def check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, (int, float)) and 0.5 < confidence < 1):
        raise InputError(f"--confidence must be between 0.5 and 1, e.g. 0.95 (got {confidence})")


def estimate_themes(tagged_path: str | Path, *, themes: list[str] | None = None,
                    audit_path: str | Path | list | None = None,
                    confidence: float = 0.95, period: Period = Period(), by: str | None = None,
                    unit: str = "rhi", child_col: str | None = None, id_col: str = "id",
                    model_dir: str | Path | None = None, seed: int = 0, text_col: str = "narrative") -> list[ThemeResult]:
    """Counts per theme (and per value of ``by``). ``audit_path``: one audit, or the audits drawn one
    per group by ``rhi-nlp sample --by`` (a folder or a list), which give per-group and pooled
    confidence intervals (:mod:`rhi_nlp.pooled`)."""
    from . import pooled

    check_confidence(confidence)
    alpha = 1 - confidence
    # only the columns needed (the narratives only for the model-only keyword check)
    paths = pooled.audit_paths(audit_path) if audit_path else []
    keep = {by, child_col, period.date_col, *pooled.design_columns(paths)} | (set() if paths else {text_col})
    tagged = load_tagged(tagged_path, id_col=id_col, keep={c for c in keep if c})
    audits = [load_audit(p, tagged) for p in paths]
    per_group: dict[str, Audit] = {}
    if len(audits) > 1 or (audits and audits[0].within):
        by, per_group = pooled.group_audits(audits, tagged, by)
        if unit != "rhi":
            raise AuditError("audits drawn per group count RHIs only: leave out --unit child")
    audit = audits[0] if audits else None
    if unit not in ("rhi", "child"):
        raise InputError(f"--unit must be rhi or child, not {unit!r}")
    if unit == "child" and (not child_col or child_col not in tagged.df.columns):
        raise InputError(f"--unit child needs --child-col naming a column of {tagged.path}")
    if unit == "child":
        check_child_ids(tagged.df, child_col, id_col, tagged.path)
    if audit and unit == "child" and audit.unit != "child":
        raise AuditError(f"{audit.path} was drawn by RHI; counting children needs an audit drawn by child "
                         f"(rhi-nlp sample --unit child --child-col {child_col})")
    if by and by not in tagged.df.columns:
        raise InputError(f"{tagged.path}: --by column {by!r} not found")
    if audit and audit.design == "stratified" and (by or period.date_col):
        raise AuditError("a stratified audit supports estimates for the whole file only; draw a random "
                         "audit for periods or subgroups")
    notes_of = {id(a): audit_notes(a.path, a, model_dir) for a in audits}
    in_period = period_mask(tagged.df, period, id_col, tagged.path)
    theme_list = themes or [t for t in tagged.theme_ids if audit is None or t in audit.df.columns]
    groups: list[str | None] = [None]
    if by:
        groups += sorted(tagged.df.loc[in_period, by].astype(str).unique())
    unaudited = [g for g in groups[1:] if per_group and g not in per_group]
    if unaudited:  # per-group audits for only some groups: their own figures, no pooled figure
        groups = [g for g in groups[1:] if g in per_group]
        if not groups:
            raise AuditError(f"none of the audited groups has a recorded narrative in {period.describe()}")
    results = []
    by_str = tagged.df[by].astype(str).to_numpy() if by else None
    subs: dict[str | None, tuple] = {}   # each group's rows, taken once for all themes
    for theme in theme_list:
        tid, name, definition, parts = resolve_theme(theme)
        for g in groups:
            if g not in subs:
                sub = tagged.df[in_period if g is None else in_period & (by_str == g)]
                rec_mask = ~sub[STATUS_COL].isin(NOT_RECORDED)
                rec = sub[rec_mask]
                subs[g] = (sub, rec_mask, rec, {i: k for k, i in enumerate(rec[id_col].to_numpy())})
            sub, rec_mask, rec, pos = subs[g]   # pos: each recorded RHI's row in rec, by id
            n_not = int((~rec_mask).sum())
            if not len(rec):
                r = (est.Estimate(point=0.0, lower=0.0, upper=0.0, method="no recorded narratives", N=0,
                                  model_only=audit is None, confidence=confidence),
                     ["No narrative is recorded in this period or group, so the count is 0."], None)
                n_total_units = len(sub) if unit == "rhi" else sub[child_col].nunique()
                not_rec_units = n_total_units
            elif unit == "child":
                mo = partial(model_only.estimate, rows=rec, theme=tid, parts=parts, alpha=alpha, model_dir=model_dir,
                             seed=seed, text_col=text_col, keys=rec[child_col].astype(str))
                r = _estimate_children(parts, tagged, rec, audit, child_col, alpha, mo)
                n_total_units = rec[child_col].astype(str).nunique()
                # children with no recorded narrative at all in this period/group
                not_rec_units = len(set(sub.loc[~rec_mask, child_col].astype(str)) - set(rec[child_col].astype(str)))
            elif per_group and g is None:
                e, notes = pooled.pooled_estimate(
                    scores(rec, parts), rec[by].astype(str).to_numpy(), pos, per_group,
                    partial(audit_labels, parts=parts, id_col=id_col), alpha=alpha)
                r = (e, notes, None)
                n_total_units, not_rec_units = len(sub), n_not
            else:
                mo = partial(model_only.estimate, rows=rec, theme=tid, parts=parts, alpha=alpha, model_dir=model_dir,
                             seed=seed, text_col=text_col)
                r = _estimate_rhis(parts, tagged, rec, pos, per_group.get(g, audit), alpha, mo)
                n_total_units, not_rec_units = len(sub), n_not
            used = [per_group[g]] if g in per_group else list(per_group.values()) or audits
            extra = list(dict.fromkeys(n for a in used for n in _theme_notes(notes_of[id(a)], parts)
                                       if g is not None or not per_group or n.startswith("WARNING")))
            if unaudited:
                extra.append(f"No pooled figure: {len(unaudited)} value(s) of {by} have no audit "
                             f"(for example {unaudited[0]!r}).")
            res = ThemeResult(theme=tid, name=name, definition=definition, estimate=r[0], unit=unit,
                              period=period.describe(), group=g, n_rows_total=n_total_units,
                              n_not_recorded=not_rec_units, notes=r[1] + extra, shift=r[2])
            results.append(res)
    return results


def audit_notes(audit_path, audit: "Audit", model_dir) -> list[tuple[str | None, str]]:
    """(theme or None for all, note) about how the audit was labelled and whether the model saw it:
    the double-labelled share and kappa from the labelling journal, and a warning when the model
    was trained on this audit's labels."""
    from .paths import default_model_dir

    notes: list[tuple[str | None, str]] = []
    try:  # the same cached load the model-only estimates use
        card = model_only._cached_model(Path(model_dir) if model_dir else default_model_dir()).card
    except Exception:
        card = {}
    sha = str(audit.df["audit_ids_sha256"].iloc[0]) if "audit_ids_sha256" in audit.df.columns else None
    if sha and any(a.get("audit_ids_sha256") == sha for a in card.get("audits_used", [])):
        notes.append((None, "WARNING: the model was trained on this audit's labels, so the interval is not valid "
                            "(it assumes the model never saw them). Estimate with a model that did not learn from "
                            "this audit."))
    from .labels import journal_path

    if journal_path(audit_path).exists():
        from .agreement import agreement

        try:
            a = agreement(audit_path)
        except InputError:  # one labeller only
            a = None
        if a and a["double_labelled"]:
            for t, m in a["themes"].items():
                kappa = f"Cohen's kappa {m['kappa']:.2f}" if m["kappa"] is not None else "kappa not defined"
                notes.append((t, f"{a['double_labelled']} of {a['n_rows']} audited narratives "
                                 f"({a['double_labelled_share']:.0%}) were labelled twice, blind; agreement on this "
                                 f"theme {m['agreement']:.0%} ({kappa}); {len(a['disagreements'])} narrative(s) "
                                 f"with a disagreement were adjudicated and the adjudicated labels used."))
    return notes


def _theme_notes(notes: list[tuple[str | None, str]], parts: tuple[str, ...]) -> list[str]:
    return [n for t, n in notes if t is None or (len(parts) == 1 and t == parts[0])]


def _guard_note(e: est.Estimate) -> list[str]:
    return [e.guard[0].upper() + e.guard[1:] + "."] if e.guard else []


def _estimate_rhis(parts, tagged, rec, pos, audit, alpha, model_only_estimate):
    f = scores(rec, parts)
    if audit is None:
        return model_only_estimate(f)
    y_all = audit_labels(audit, parts, tagged.id_col)
    if audit.unit == "child":
        return _cluster_rhis(parts, tagged, rec, audit, y_all, alpha)
    in_dom = [i for i in y_all.index if i in pos]
    notes = []
    population = tagged.population_size(audit.within)
    if audit.N != population:
        where = f"{audit.within[0]} {audit.within[1]!r} in " if audit.within else ""
        raise AuditError(f"{audit.path}: drawn from {audit.N} recorded narratives but {where}{tagged.path} now has "
                         f"{population}")
    sample = np.array([pos[i] for i in in_dom], dtype=int)
    y = y_all.loc[in_dom].to_numpy(float)
    if len(sample) == 0:
        raise AuditError(f"{audit.path}: no audited narrative falls in this period or subgroup")
    if len(rec) < population:
        notes.append(f"Domain estimate: {len(sample)} of the audited narratives fall in this period or group; "
                     f"the interval is conditional on that number.")
    if audit.design == "stratified":
        # strata of the whole file (stratified audits estimate for the whole file only), from the
        # sample drawn again in load_audit
        e = est.stratified_estimate(f, audit.drawn.design.strata, sample, y, alpha=alpha)
    else:
        e = est.difference_estimate(f, sample, y, alpha=alpha)
        if e.n == e.N:
            notes.append(CENSUS_NOTE)
    return e, notes + _guard_note(e), None


def _cluster_rhis(parts, tagged, rec, audit, y_all, alpha):
    """RHI count from an audit drawn by child (single-stage cluster sample of children)."""
    child_col = audit.child_col
    children = sorted(set(tagged.recorded[child_col].astype(str)))
    index = {c: k for k, c in enumerate(children)}
    # per-child totals over the RHIs in this period/group (children with none there contribute 0)
    f_c = np.zeros(len(children))
    np.add.at(f_c, rec[child_col].astype(str).map(index).to_numpy(), scores(rec, parts))
    in_dom = set(rec[tagged.id_col])
    audited = audit.df[[tagged.id_col, child_col]].astype(str)
    sampled = sorted(set(audited[child_col]))
    y_c = np.array([sum(int(y_all.loc[i]) for i in audited.loc[audited[child_col] == c, tagged.id_col] if i in in_dom)
                    for c in sampled], float)
    n_audited = sum(1 for i in y_all.index if i in in_dom)
    e = est.cluster_difference_estimate(f_c, np.array([index[c] for c in sampled]), y_c, n_units=len(rec),
                                        n_audited=n_audited, alpha=alpha)
    notes = [f"Audit drawn by child: {len(sampled)} children sampled of {len(children)}; the interval "
             f"accounts for the clustering of RHIs within children."]
    if e.x < est.SMALL_COUNT_GUARD:
        notes.append("Fewer than 10 positives in the audit: the small-count guard is not available for "
                     "child-clustered samples, so treat the interval with caution or label more.")
    return e, notes, None


def _estimate_children(parts, tagged, rec, audit, child_col, alpha, model_only_estimate):
    kid = rec[child_col].astype(str)
    grouped = rec.assign(_kid=kid).groupby("_kid", sort=True)
    keys = list(grouped.groups)
    f = np.array([1 - np.prod(1 - scores(g, parts)) for _, g in grouped])
    if audit is None:
        e, notes, shift = model_only_estimate(f)
        return e, notes + ["Children counted once if any of their RHIs in the period is flagged; the "
                           "child-level probability treats a child's RHIs as independent."], shift
    y_rhi = audit_labels(audit, parts, tagged.id_col)
    audited = audit.df[[tagged.id_col, child_col]].astype(str)
    kid_y = {}
    ids_in = set(rec[tagged.id_col])
    for _, row in audited.iterrows():
        if row[tagged.id_col] in ids_in:
            kid_y[row[child_col]] = max(kid_y.get(row[child_col], 0), int(y_rhi.loc[row[tagged.id_col]]))
    pos = {k: i for i, k in enumerate(keys)}
    sample = np.array([pos[k] for k in kid_y if k in pos], dtype=int)
    y = np.array([kid_y[k] for k in kid_y if k in pos], float)
    if len(sample) == 0:
        raise AuditError(f"{audit.path}: no audited child falls in this period or subgroup")
    if audit.design != "random":
        raise AuditError(f"{audit.path}: a sample of children must be random (rhi-nlp sample --unit child)")
    e = est.difference_estimate(f, sample, y, alpha=alpha)
    notes = _guard_note(e)
    return e, notes, None


# --- planning -------------------------------------------------------------------------------

def plan(tagged_path: str | Path, *, half_width: float, theme: str = "parental_conflict", confidence: float = 0.95,
         id_col: str = "id", pilot: str | Path | None = None) -> dict:
    check_confidence(confidence)
    tagged = load_tagged(tagged_path, id_col=id_col)
    tid, name, _, parts = resolve_theme(theme)
    rec = tagged.recorded
    f = scores(rec, parts)
    N = len(f)
    alpha = 1 - confidence
    p = float(f.mean())
    S_y = math.sqrt(max(p * (1 - p), 1e-6))
    S_e = math.sqrt(max(float(np.mean(f * (1 - f))), 1e-6))
    source = "the model's calibrated probabilities (assumes calibration holds)"
    if pilot:
        audit = load_audit(pilot, tagged)
        y = audit_labels(audit, parts, id_col)
        pos = {i: k for k, i in enumerate(rec[id_col])}
        ks = [pos[i] for i in y.index if i in pos]
        e = y.loc[[i for i in y.index if i in pos]].to_numpy(float) - f[ks]
        if len(e) >= 10:
            # shrink the noisy pilot variance toward the model-implied one (40 pseudo-labels)
            k = PILOT_PRIOR_WEIGHT
            S_e = math.sqrt((len(e) * float(np.var(e, ddof=1)) + k * S_e ** 2) / (len(e) + k))
            S_y = max(S_y, float(np.std(y.to_numpy(float), ddof=1)))
            source = f"the pilot's residuals ({len(e)} labels) blended with the model's"
    S_e_cautious = math.sqrt(S_e ** 2 + 0.01)
    strata = score_bands(f, 5)
    N_h = np.array([(strata == h).sum() for h in range(5)])
    S_h = np.array([math.sqrt(float(np.mean(f[strata == h] * (1 - f[strata == h]))) + 0.02) for h in range(5)])
    return {
        "theme": tid, "name": name, "N": N, "half_width": half_width, "confidence": confidence,
        "model_prevalence": round(p, 4),
        "labels_only": est.srs_sample_size(N, S_y, half_width, alpha),
        "model_assisted": est.srs_sample_size(N, S_e, half_width, alpha),
        "model_assisted_cautious": est.srs_sample_size(N, S_e_cautious, half_width, alpha),
        "stratified_neyman": est.neyman_sample_size(N_h, S_h, half_width, alpha),
        "S_y": round(S_y, 4), "S_e": round(S_e, 4), "S_e_source": source,
        "note": ("Label a random pilot of 30-50 first (rhi-nlp sample --size 40), then run plan again with "
                 "--pilot to use its residuals, and label the rest in one batch. Stopping when the interval "
                 "looks narrow enough would make it invalid."),
    }


# --- rendering to dicts ----------------------------------------------------------------------

def result_to_dict(r: ThemeResult, rule: DisclosureRule = DisclosureRule()) -> dict:
    """Published figures for one result. A suppressed row keeps nothing that would undo the
    suppression: no unrounded figures, and no denominator when the group itself is small."""
    e = r.estimate
    d = disclose(e.point, e.lower, e.upper, e.N, rule)
    unit_word = "children" if r.unit == "child" else "RHIs"
    small_group = d.reason == "small group"
    row = {
        "theme": r.theme, "name": r.name, "definition": r.definition, "group": r.group,
        "estimate": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high,
        "display": {"estimate": d.text_estimate, "ci_low": d.text_low, "ci_high": d.text_high,
                    "denominator": d.text_denominator,
                    "not_recorded": count_text(r.n_not_recorded, rule),
                    "audited_positives": audit_count_text(e.x, rule) if e.x is not None and not d.suppressed else None},
        "share_percent": d.share, "confidence": round(e.confidence, 4),
        "interval_kind": "model-based range" if e.model_only else "confidence interval",
        "n_total": None if small_group else e.N, "n_audited": e.n, "method": e.method, "model_only": e.model_only,
        "suppressed": d.suppressed, "suppression_reason": d.reason, "unit": unit_word, "period": r.period,
        "rows_in_period": None if small_group else r.n_rows_total,
        "not_recorded": None if small_group or 0 < r.n_not_recorded < rule.threshold else r.n_not_recorded,
        "notes": r.notes, "shift_check": r.shift,
        "unrounded": None if d.suppressed else {
            "estimate": round(e.point, 2), "ci_low": e.lower, "ci_high": e.upper,
            "share": round(e.point / e.N, 4) if e.N else None, "audited_positives": e.x,
            **({"model_based_range_sd": e.details} if e.model_only else {})},
        "disclosure": {"threshold": rule.threshold, "rounding_base": rule.base,
                       "rule": "estimates, limits and denominators below the threshold shown as 'fewer than'; "
                               "groups smaller than the threshold, or where fewer than the threshold lack the "
                               "theme, withheld (c); rounded to the base; interval limits rounded outward and "
                               "never beyond the group's size"},
    }
    return row


def secondary_suppression(rows: list[dict]) -> None:
    """Within a theme's subgroup breakdown, if exactly one group is suppressed, also suppress the
    next smallest so it cannot be recovered by subtracting from the total."""
    by_theme: dict[str, list[dict]] = {}
    for r in rows:
        if r["group"] is not None:
            by_theme.setdefault(r["theme"], []).append(r)
    for items in by_theme.values():
        sup = [r for r in items if r["suppressed"]]
        if len(sup) == 1:
            rest = sorted((r for r in items if not r["suppressed"]), key=lambda r: r["unrounded"]["estimate"])
            if rest:
                r = rest[0]
                r.update(estimate=None, ci_low=None, ci_high=None, share_percent=None, suppressed=True,
                         suppression_reason="secondary", unrounded=None)
                r["display"].update(estimate="c", ci_low="c", ci_high="c", audited_positives=None)
                r["notes"] = r["notes"] + ["Suppressed (c) to protect another group's small count."]
