"""Tag narratives with themes: probabilities, 0/1 flags and the evidence sentence."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, looks_like_id
from .familiarity import COLUMN as FAMILIARITY_COL
from .files import same_file
from .features import iter_records
from .io import TableReader, atomic_writer
from .nlp import MAX_CHARS, build_pipeline
from .persistence import Model
from .text import clean_text

EVIDENCE_MAX_CHARS = 1000
STATUS_COL = "narrative_status"
DECLINED_MAX_PROB = 0.2  # a short "declined" note with any theme at or above this stays "recorded"


def _status_rules() -> tuple[list[re.Pattern], int]:
    doc = json.loads((resources.files("rhi_nlp") / "data" / "status_rules.json").read_text(encoding="utf-8"))
    return [re.compile(p, re.IGNORECASE) for p in doc["declined"]], int(doc["max_words"])


@dataclass
class TagSummary:
    n_rows: int = 0
    n_empty: int = 0
    n_declined: int = 0
    n_truncated: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    output: str | None = None


class Tagger:
    """Holds the pipeline and the model; tags batches of texts."""

    def __init__(self, model: Model):
        self.model = model
        self.nlp = build_pipeline()
        self.declined_patterns, self.declined_max_words = _status_rules()

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return self.model.theme_ids

    def tag_texts(self, raw_texts: Sequence[object]) -> tuple[pd.DataFrame, int]:
        """Return (columns to add, number of texts cut at MAX_CHARS) for a batch of raw narratives."""
        texts, truncated = [], 0
        for v in raw_texts:
            t = clean_text(v)
            if len(t) > MAX_CHARS:
                t, truncated = t[:MAX_CHARS], truncated + 1
            texts.append(t)
        clf = self.model.classifier
        records = list(iter_records(self.nlp, texts, self.theme_ids))
        # probabilities, flags, evidence sentences and familiarity from one featurisation
        probs, flags, best, fam = clf.tag_batch(records, np.array([bool(t) for t in texts], dtype=bool))
        cols: dict[str, list] = {}
        for j, theme in enumerate(self.theme_ids):
            evidence = []
            for i, rec in enumerate(records):
                k = best[i][j]
                if k is None:
                    evidence.append("")
                else:
                    s, e = rec.sentences[k]
                    evidence.append(texts[i][s:e].strip()[:EVIDENCE_MAX_CHARS])
            cols[theme] = flags[:, j].tolist()
            cols[f"{theme}_prob"] = np.round(probs[:, j], 4).tolist()
            cols[f"{theme}_evidence"] = evidence
        status = []
        for i, t in enumerate(texts):
            if not t:
                status.append("empty")
            elif (probs[i].max() < DECLINED_MAX_PROB and len(t.split()) <= self.declined_max_words
                  and any(p.search(t) for p in self.declined_patterns)):
                status.append("declined")
            else:
                status.append("recorded")
        # how familiar each narrative's wording is to the model (see rhi_nlp.familiarity)
        cols[FAMILIARITY_COL] = np.round(fam, 3).tolist()
        out = pd.DataFrame(cols)
        out.insert(0, STATUS_COL, status)
        return out, truncated


def count_rows(path: str | Path, encoding: str | None = None, sheet: str | None = None) -> int | None:
    """Row count for a progress bar, by a streaming pass or file metadata (None when unknown)."""
    path = Path(path)
    try:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            import csv

            from .io import detect_encoding

            enc = detect_encoding(path, encoding)
            with open(path, newline="", encoding=enc.name, errors="replace") as fh:
                return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if path.is_dir():
            import pyarrow.parquet as pq

            return sum(pq.ParquetFile(f).metadata.num_rows for f in path.rglob("*.parquet") if not f.name.startswith("."))
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True)
            n = ((wb[sheet] if sheet else wb.worksheets[0]).max_row or 1) - 1
            wb.close()
            return n
        return None
    except Exception:
        return None


def _check_ids(chunk: pd.DataFrame, id_col: str, first_row: int, seen: dict[str, int], path) -> None:
    """Ids must be present, unique and look like ids (a swapped --id-col would otherwise put
    narrative text into error messages and outputs' keys)."""
    for k, v in enumerate(chunk[id_col].tolist()):
        row = first_row + k
        key = "" if v is None or (isinstance(v, float) and v != v) or v is pd.NA else str(v).strip()
        if not key:
            raise InputError(f"{path}: row {row} has an empty id in column {id_col!r}; "
                             f"every narrative needs a unique id")
        if not looks_like_id(key):
            raise InputError(f"{path}: row {row}, column {id_col!r}: the value is long free text, not an id; "
                             f"check --id-col names the id column and --text-col the narrative")
        if key in seen:
            raise InputError(f"{path}: duplicate id {key!r} in column {id_col!r} at rows "
                             f"{seen[key]} and {row}; ids must be unique (remove or rename the "
                             f"duplicate row)")
        seen[key] = row


def tag_file(input_path: str | Path, output_path: str | Path, model: Model, *, id_col: str = "id",
             text_col: str = "narrative", encoding: str | None = None, chunk_size: int = 500,
             sheet: str | None = None, excel_safe: bool = False, workers: int = 1, resume: bool = False,
             progress: Callable[[int], None] | None = None) -> TagSummary:
    """Tag every narrative of an export and write the input's columns plus, per theme T,
    ``T``, ``T_prob`` and ``T_evidence``, with ``narrative_status`` and ``text_familiarity``.
    Streams in chunks; writes atomically.
    ``excel_safe``: escape CSV cells that Excel would run as formulas (see :mod:`rhi_nlp.cells`).
    ``workers``: processes tagging chunks at once (output identical to one; see :mod:`rhi_nlp.parallel`).
    ``resume``: keep each finished chunk beside the output (:mod:`rhi_nlp.resume`), so a run killed at
    any point continues from the last finished chunk when started again with ``resume``."""
    from .parallel import tag_chunks

    if same_file(input_path, output_path):
        raise InputError(f"{output_path}: the output must not overwrite the input file")
    reader = TableReader(Path(input_path), id_col, text_col, chunk_size=chunk_size, encoding=encoding,
                         sheet=sheet)
    theme_ids = model.theme_ids
    summary = TagSummary(counts={t: 0 for t in theme_ids}, expected={t: 0.0 for t in theme_ids})
    seen: dict[str, int] = {}
    checkpoint = None
    if resume:
        from .resume import Checkpoint

        checkpoint = Checkpoint.open(input_path, output_path, model, dict(
            id_col=id_col, text_col=text_col, encoding=encoding, chunk_size=chunk_size, sheet=sheet))

    def checked(chunks):
        rows = 0
        for k, chunk in enumerate(chunks):
            taken = [c for c in chunk.columns if c in (STATUS_COL, FAMILIARITY_COL) or any(
                c == t or c == f"{t}_prob" or c == f"{t}_evidence" for t in theme_ids)]
            if taken:
                raise InputError(f"{input_path}: column {taken[0]!r} would be overwritten by the output; "
                                 f"rename it or tag the original export")
            _check_ids(chunk, id_col, rows + 2, seen, input_path)  # row 1 is the header
            rows += len(chunk)
            if checkpoint is not None and checkpoint.has(k):
                if progress:
                    progress(len(chunk))
                continue  # finished by an earlier run
            yield k, chunk

    def tagged():
        for k, chunk, (added, truncated) in tag_chunks(checked(reader), text_col, model, workers):
            out = pd.concat([chunk.reset_index(drop=True), added], axis=1)
            if checkpoint is not None:
                checkpoint.save(k, out, truncated)
            else:
                yield out, truncated
            if progress:
                progress(len(chunk))

    with atomic_writer(output_path, excel_safe=excel_safe) as writer:
        pieces = tagged()
        if checkpoint is not None:
            for _ in pieces:  # every chunk lands in the checkpoint; then the output is assembled from it
                pass
            pieces = checkpoint.chunks()
        for out, truncated in pieces:
            writer.write(out)
            summary.n_truncated += truncated
            status = out[STATUS_COL].tolist()
            summary.n_rows += len(out)
            summary.n_empty += status.count("empty")
            summary.n_declined += status.count("declined")
            for t in theme_ids:
                summary.counts[t] += int(out[t].sum())
                summary.expected[t] += float(out[f"{t}_prob"].sum())
        if summary.n_rows == 0:
            raise InputError(f"{input_path}: no rows to tag")
    if checkpoint is not None:
        checkpoint.remove()
    summary.notes = list(reader.notes)
    if summary.n_truncated:
        summary.notes.append(f"{summary.n_truncated} narrative(s) longer than {MAX_CHARS:,} characters were "
                             f"tagged on their first {MAX_CHARS:,} characters only")
    if writer.truncated_cells:
        summary.notes.append(f"{writer.truncated_cells} cell(s) longer than Excel's 32,767-character "
                             f"limit were cut in the .xlsx output; write .csv or .parquet to keep them whole")
    summary.output = str(output_path)
    return summary
