"""Reading narrative exports and writing results: CSV, Excel (.xlsx) and Parquet.

Reading streams in chunks so memory does not grow with the file. Writing goes to a temporary
file beside the target, renamed into place only when complete: a failed run leaves no output.
Errors name the file, row and column, never the narrative text.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
EXCEL_CELL_LIMIT = 32_767


def file_format(path: str | Path, *, role: str = "input") -> str:
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    hint = " (save it from Excel as .xlsx)" if suffix in (".xls", ".xlsm", ".xlsb") else ""
    raise InputError(f"{path}: unsupported {role} file type {suffix or '(none)'!r}{hint}; "
                     f"use .csv, .xlsx or .parquet")


def detect_encoding(path: Path, encoding: str | None) -> tuple[str, str | None]:
    """Return (encoding, note). UTF-8 (with or without BOM) is checked by streaming the file;
    a file that is not UTF-8 is read as Windows-1252, the usual encoding of a CSV saved by Excel."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown --encoding {encoding!r}; try utf-8 or cp1252") from None
        return encoding, None
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        offset = 0
        while block := fh.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                where = offset + exc.start
                return "cp1252", (f"{path} is not UTF-8 (first non-UTF-8 byte at offset {where}); "
                                  f"read it as Windows-1252. Pass --encoding to choose another.")
            offset += len(block)
    return "utf-8-sig", None


def _read_error(path: Path, kind: str, exc: Exception) -> InputError:
    # Only the exception type and safe parser details: never echo cell contents.
    name = type(exc).__name__
    safe = {"ParserError", "BadZipFile", "ArrowInvalid", "InvalidFileException", "EmptyDataError"}
    detail = f": {str(exc)[:160]}" if name in safe else ""
    return InputError(f"cannot read {path} as {kind} ({name}{detail}); check the file is a valid "
                      f"{kind} file and not open or locked in another program")


@dataclass
class TableReader:
    """Stream a table in chunks of DataFrames, checking the id and text columns."""

    path: Path
    id_col: str
    text_col: str
    chunk_size: int = 500
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.kind = file_format(self.path)
        if not self.path.exists():
            raise InputError(f"{self.path}: file not found")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder, not a file")
        if self.kind == "csv":
            self.encoding, note = detect_encoding(self.path, self.encoding)
            if note:
                self.notes.append(note)

    def _check_columns(self, columns: list[str]) -> None:
        missing = [c for c in (self.id_col, self.text_col) if c not in columns]
        if missing:
            opts = {self.id_col: "--id-col", self.text_col: "--text-col"}
            found = ", ".join(repr(c) for c in columns) or "(none)"
            raise InputError(f"{self.path}: column {missing[0]!r} not found (columns found: {found}); "
                             f"pass {opts[missing[0]]} to name the right column")

    def __iter__(self) -> Iterator[pd.DataFrame]:
        try:
            yield from getattr(self, f"_iter_{self.kind}")()
        except InputError:
            raise
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
            raise _read_error(self.path, self.kind.upper() if self.kind != "xlsx" else "Excel", exc) from None
        except Exception as exc:  # pyarrow, openpyxl and zipfile raise their own types
            raise _read_error(self.path, self.kind, exc) from None

    def _iter_csv(self) -> Iterator[pd.DataFrame]:
        first, rows = True, 0
        with pd.read_csv(self.path, dtype=str, keep_default_na=False, na_values=[],
                         encoding=self.encoding, chunksize=self.chunk_size) as reader:
            for chunk in reader:
                if first:
                    self._check_columns(list(chunk.columns))
                    first = False
                if len(chunk):
                    rows += len(chunk)
                    yield chunk
        if not rows:
            raise InputError(f"{self.path}: the file has a header but no rows")

    def _iter_parquet(self) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.path)
        self._check_columns(list(pf.schema_arrow.names))
        for batch in pf.iter_batches(batch_size=self.chunk_size):
            yield batch.to_pandas(types_mapper=pd.ArrowDtype)

    def _iter_xlsx(self) -> Iterator[pd.DataFrame]:
        from openpyxl import load_workbook

        wb = load_workbook(self.path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                raise InputError(f"{self.path}: the first sheet is empty")
            cols = [str(c) if c is not None else f"column_{i + 1}" for i, c in enumerate(header)]
            self._check_columns(cols)
            buf = []
            for row in rows:
                if row is None or all(v is None for v in row):
                    continue
                buf.append(list(row) + [None] * (len(cols) - len(row)))
                if len(buf) >= self.chunk_size:
                    yield pd.DataFrame(buf, columns=cols, dtype=object)
                    buf = []
            if buf:
                yield pd.DataFrame(buf, columns=cols, dtype=object)
        finally:
            wb.close()


class TableWriter:
    """Append DataFrame chunks to a temporary file; ``commit()`` renames it into place."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.kind = file_format(self.path, role="output")
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.exists():
            raise InputError(f"{self.path}: the folder {parent} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self._started = False
        self._pq = None
        self._wb = None
        self.truncated_cells = 0

    def write(self, df: pd.DataFrame) -> None:
        getattr(self, f"_write_{self.kind}")(df)
        self._started = True

    def _write_csv(self, df: pd.DataFrame) -> None:
        df.to_csv(self.tmp, mode="a" if self._started else "w", header=not self._started,
                  index=False, encoding="utf-8")

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            self._schema = table.schema
            self._pq = pq.ParquetWriter(self.tmp, self._schema)
        else:
            table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
        self._pq.write_table(table)

    def _write_xlsx(self, df: pd.DataFrame) -> None:
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if self._wb is None:
            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet("tagged")
            self._ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            out = []
            for v in row:
                if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
                    out.append(None)
                    continue
                if isinstance(v, str):
                    v = ILLEGAL_CHARACTERS_RE.sub(" ", v)
                    if len(v) > EXCEL_CELL_LIMIT:
                        v = v[:EXCEL_CELL_LIMIT]
                        self.truncated_cells += 1
                out.append(v)
            self._ws.append(out)

    def commit(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._wb is not None:
            self._wb.save(self.tmp)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self._pq is not None:
                self._pq.close()
        finally:
            self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TableWriter]:
    writer = TableWriter(path)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def parse_label(value: object) -> int | None:
    """A hand label as 0 or 1; None for an empty cell; -1 for anything else. Accepts what
    spreadsheets produce: 0/1, 0.0/1.0, with or without spaces."""
    s = "" if value is None else str(value).strip()
    if s in ("", "nan", "None", "<NA>"):
        return None
    if s.endswith(".0"):
        s = s[:-2]
    return int(s) if s in ("0", "1") else -1


def read_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a whole (small) table: labelled files, audit samples, tagged files for estimation."""
    path = Path(path)
    kind = file_format(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        if kind == "csv":
            enc, _ = detect_encoding(path, encoding)
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=enc)
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_excel(path, dtype=object)
    except InputError:
        raise
    except Exception as exc:
        raise _read_error(path, kind, exc) from None


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_writer(path) as w:
        w.write(df)
