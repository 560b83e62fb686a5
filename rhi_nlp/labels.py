"""A file being labelled: its rows, an append-only journal of every decision, and the file kept in
step with the journal.

Every decision (a theme set to 0 or 1, "unsure", a note, "done" for a narrative, an adjudication)
is appended to ``FILE.journal.jsonl`` beside the file and flushed to disk before it is
acknowledged; the file itself is then rewritten atomically from the journal. Killing the process
at any moment loses nothing: the next open replays the journal and rewrites the file.

Labellers are kept apart: each decision names its labeller. The theme columns of the file hold,
per narrative and theme, the adjudicated label where there is one, else the label the labellers
who finished it agree on; where finished labellers disagree the cell stays empty until adjudicated
(so ``estimate`` cannot use a disputed label). ``label_unsure`` and ``label_note`` carry the
"unsure" marks and notes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError
from .io import parse_label, read_table, write_table
from .themes import load_themes

ADJUDICATOR = "adjudicator"
DEFAULT_LABELLER = "main"
UNSURE_COL = "label_unsure"
NOTE_COL = "label_note"
PURPOSE_COL = "sample_purpose"
AUDIT_MARK = "audit_design"
IDLE_GAP_S = 300  # a pause longer than this between decisions is not counted as time spent


def read_sample(path: str | Path) -> tuple[pd.DataFrame, bool]:
    """A labelling file and whether rhi-nlp wrote it Excel-safe: audit and training samples are
    (a cell Excel would run as a formula starts with an apostrophe, removed again here); any other
    labelled file is read as it is."""
    df = read_table(path)
    written_safe = AUDIT_MARK in df.columns or PURPOSE_COL in df.columns
    return (read_table(path, excel_escaped=True) if written_safe else df), written_safe


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def journal_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".journal.jsonl")


@dataclass
class ItemState:
    labels: dict[str, int] = field(default_factory=dict)
    done: bool = False
    unsure: bool = False
    note: str = ""


class Journal:
    """Append-only JSON Lines; each append is flushed and fsynced before it returns."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        out = []
        for k, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                # a line cut by a crash mid-write can only be the last one
                if k < len(lines):
                    raise InputError(f"{self.path}: line {k} is not valid JSON; the journal was edited") from None
        return out

    def append(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


class LabelFile:
    """An audit sample or a labelled/training file open for labelling."""

    def __init__(self, path: str | Path, *, id_col: str | None = None, text_col: str = "narrative"):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path}: file not found")
        self.df, self.excel_safe = read_sample(self.path)
        self.is_audit = AUDIT_MARK in self.df.columns and not (
            PURPOSE_COL in self.df.columns and (self.df[PURPOSE_COL].astype(str) == "training").any())
        self.id_col = id_col or ("id" if "id" in self.df.columns else str(self.df.columns[0]))
        self.text_col = text_col
        for c in (self.id_col, self.text_col):
            if c not in self.df.columns:
                raise InputError(f"{self.path}: column {c!r} not found; pass --id-col / --text-col")
        self.df[self.id_col] = self.df[self.id_col].astype(str)
        if self.df[self.id_col].duplicated().any():
            raise InputError(f"{self.path}: ids in column {self.id_col!r} must be unique")
        all_themes = load_themes()
        self.themes = [t for t in all_themes if t.id in self.df.columns] or list(all_themes)
        for t in self.themes:
            if t.id not in self.df.columns:
                self.df[t.id] = ""
        for c in (UNSURE_COL, NOTE_COL):
            if c not in self.df.columns:
                self.df[c] = ""
        self.ids = self.df[self.id_col].tolist()
        self.index = {i: k for k, i in enumerate(self.ids)}
        self.journal = Journal(journal_path(self.path))
        self.entries = self.journal.read()
        self._states: dict[str, dict[str, ItemState]] = {}
        self._lock = threading.RLock()  # decisions arrive on request threads; the rewrite runs on its own
        if not self.entries or "file_labels" not in self.entries[0]:
            if self.entries:
                raise InputError(f"{self.journal.path}: not a labelling journal (its first line is not the file's "
                                 f"starting labels)")
            # the journal's first line keeps the labels the file held before any decision
            self.record_start()
        self.file_labels: dict[str, dict[str, int]] = self.entries[0]["file_labels"]
        self._write_lock = threading.Lock()
        self._pending = threading.Event()
        self._writer: threading.Thread | None = None

    # -- state ---------------------------------------------------------------------------------
    def record_start(self) -> None:
        """Start the journal with the labels already in the file (typed in Excel, or copied from a
        pilot). They belong to the default labeller, who sees and can change them; a named second
        labeller does not see them."""
        start = {}
        for k, row in self.df.iterrows():
            vals = {t.id: v for t in self.themes if (v := parse_label(row[t.id])) in (0, 1)}
            if vals:
                start[self.ids[k]] = vals
        self.journal.append({"v": 1, "t": _now(), "file_labels": start})
        self.entries = self.journal.read()

    def state(self, labeller: str) -> dict[str, ItemState]:
        """Each item's state for one labeller (with the file's starting labels for the default one:
        a narrative the file held every theme for counts as done). Kept up to date as decisions
        are recorded, so a save does not replay the journal."""
        cached = self._states.get(labeller)
        if cached is not None:
            return cached
        out: dict[str, ItemState] = {}
        if labeller == DEFAULT_LABELLER:
            for i, vals in self.file_labels.items():
                out[i] = ItemState(labels=dict(vals), done=len(vals) == len(self.themes))
        for e in self.entries:
            if e.get("labeller") == labeller:
                self._apply(out, e)
        self._states[labeller] = out
        return out

    def _apply(self, states: dict[str, ItemState], e: dict) -> None:
        st = states.setdefault(e["id"], ItemState())
        if "theme" in e:
            st.labels[e["theme"]] = int(e["value"])
        elif "unsure" in e:
            st.unsure = bool(e["unsure"])
        elif "note" in e:
            st.note = str(e["note"])
        elif "done" in e:
            st.labels.update({k: int(v) for k, v in (e.get("labels") or {}).items()})
            st.done = bool(e["done"])
            if st.done:
                for t in self.themes:
                    st.labels.setdefault(t.id, 0)

    def labellers(self) -> list[str]:
        seen: list[str] = [DEFAULT_LABELLER] if self.file_labels else []
        for e in self.entries:
            name = e.get("labeller")
            if name and name != ADJUDICATOR and name not in seen:
                seen.append(name)
        return seen

    def record(self, labeller: str, item_id: str, **change) -> dict:
        """Append one decision to the journal (durable on return) and schedule the file rewrite."""
        if item_id not in self.index:
            raise InputError(f"no row with id {item_id!r} in {self.path}")
        entry = {"v": 1, "t": _now(), "labeller": labeller, "id": item_id, **change}
        with self._lock:
            self.journal.append(entry)
            self.entries.append(entry)
            if labeller in self._states:
                self._apply(self._states[labeller], entry)
        self._schedule_write()
        return entry

    # -- the file ------------------------------------------------------------------------------
    def merged(self) -> pd.DataFrame:
        """The file's rows with the theme, unsure and note columns from the journal."""
        with self._lock:
            return self._merged()

    def _merged(self) -> pd.DataFrame:
        df = self.df.copy()
        names = self.labellers()
        states = {n: self.state(n) for n in names}
        adjudicated = self.state(ADJUDICATOR)
        if not names and not adjudicated:
            return df
        cols: dict[str, list[str]] = {t.id: [""] * len(self.ids) for t in self.themes}
        unsure, notes = [""] * len(self.ids), [""] * len(self.ids)
        for k, i in enumerate(self.ids):
            mine = [(n, states[n][i]) for n in names if i in states[n]]
            adj = adjudicated.get(i)
            for t in self.themes:
                if adj and t.id in adj.labels:
                    cols[t.id][k] = str(adj.labels[t.id])
                    continue
                # a lone labeller's labels count as made; with several, only finished narratives
                vals = {st.labels[t.id] for _, st in mine if t.id in st.labels and (st.done or len(names) == 1)}
                if len(vals) == 1:
                    cols[t.id][k] = str(vals.pop())
            unsure[k] = ", ".join(n for n, st in mine if st.unsure)
            notes[k] = " | ".join(f"{n}: {st.note}" for n, st in mine if st.note)
        for t in self.themes:
            df[t.id] = cols[t.id]
        df[UNSURE_COL], df[NOTE_COL] = unsure, notes
        return df

    def write(self) -> None:
        """Rewrite the file from the journal, atomically (a part file renamed over it)."""
        with self._write_lock:
            write_table(self.merged(), self.path, excel_safe=self.excel_safe)

    def _schedule_write(self) -> None:
        self._pending.set()
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(target=self._write_loop, daemon=True)
            self._writer.start()

    def _write_loop(self) -> None:
        while self._pending.is_set():
            self._pending.clear()
            self.write()

    def flush(self) -> None:
        """Wait for the scheduled rewrite (and do one more if anything arrived meanwhile)."""
        if self._writer is not None:
            self._writer.join()
        if self._pending.is_set():
            self._pending.clear()
            self.write()

    # -- progress ------------------------------------------------------------------------------
    def progress(self, labeller: str, ids: list[str] | None = None) -> dict:
        """Done, total and the position of the first not done among ``ids`` (default: every row,
        in file order), and the labeller's time spent (pauses over IDLE_GAP_S not counted)."""
        ids = self.ids if ids is None else ids
        st = self.state(labeller)
        done = sum(1 for i in ids if i in st and st[i].done)
        first = next((k for k, i in enumerate(ids) if not (i in st and st[i].done)), None)
        times = sorted(e["t"] for e in self.entries if e.get("labeller") == labeller)
        spent = 0.0
        for a, b in zip(times, times[1:]):
            gap = (dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds()
            if gap < IDLE_GAP_S:
                spent += gap
        return {"done": done, "total": len(ids), "first_unlabelled": first, "seconds_spent": round(spent)}


def disagreements(lf: LabelFile) -> list[tuple[str, list[str]]]:
    """Narratives both of the first two labellers finished with a different label on some theme,
    with those themes, in file order."""
    names = lf.labellers()
    if len(names) < 2:
        return []
    a, b = lf.state(names[0]), lf.state(names[1])
    out = []
    for i in lf.ids:
        if i in a and i in b and a[i].done and b[i].done:
            differ = [t.id for t in lf.themes if a[i].labels.get(t.id) != b[i].labels.get(t.id)]
            if differ:
                out.append((i, differ))
    return out


@contextlib.contextmanager
def exclusive(path: str | Path) -> Iterator[None]:
    """One labelling session per file at a time (two would each rewrite the file from their own
    view): a lock file beside it holds the session's process id; a lock left by a process that no
    longer runs is taken over."""
    from .files import _pid_alive

    lock = Path(path).with_name(Path(path).name + ".lock")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            break
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                raise InputError(f"{path} is already open for labelling (process {pid}); one session at a time: "
                                 f"close the other one first") from None
            lock.unlink(missing_ok=True)
    else:
        raise InputError(f"{path}: cannot take the labelling lock {lock.name}")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)
