"""Reading narrative exports and writing results: CSV, Excel (.xlsx) and Parquet.

Reading streams in chunks so memory does not grow with the file. Writing goes to a part file beside
the target, renamed into place only when complete (:mod:`rhi_nlp.files`): a failed or killed run
leaves no output. Every string round-trips exactly through each format (:mod:`rhi_nlp.cells`).
Errors name the file, row and column, never a cell's content: library errors are caught here and
only their kind (and, for CSV parse errors, the line number) is reported.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import cells
from .errors import InputError
from .files import new_part, publish

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
KIND_NAME = {"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet", "dataset": "Parquet"}
EXCEL_CELL_LIMIT = 32_767
EXCEL_MAX_ROWS = 1_048_576
HEADER_MAX_CHARS = 64
HEADER_MAX_WORDS = 8


def file_format(path: str | Path, *, role: str = "input") -> str:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if path.is_dir() or (role == "output" and not suffix and not path.exists()):
        return "dataset"  # a folder of Parquet files (a partitioned dataset)
    hint = " (save it from Excel as .xlsx)" if suffix in (".xls", ".xlsm", ".xlsb") else ""
    raise InputError(f"{path}: unsupported {role} file type {suffix or '(none)'!r}{hint}; "
                     f"use .csv, .xlsx or .parquet, or a folder of .parquet files")


# --- encodings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Encoding:
    name: str
    errors: str = "strict"
    note: str | None = None


def detect_encoding(path: Path, encoding: str | None) -> Encoding:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, or the user's ``--encoding``. A UTF-8 file
    with a few Windows-1252 bytes is read as UTF-8 with those bytes decoded one by one (a note
    says where); a file with no valid UTF-8 at all decodes the same way, as Windows-1252."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown --encoding {encoding!r}; try utf-8, cp1252 or utf-16") from None
        return Encoding(encoding)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16")
    if head and head.count(b"\x00") > len(head) // 4:
        raise InputError(f"{path}: looks like UTF-16 text without a byte-order mark; pass --encoding "
                         f"utf-16-le (or utf-16-be), or save the file as CSV UTF-8")
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad, first_line, lines, offset = 0, None, 1, 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            pos = 0
            while True:
                try:
                    decoder.decode(block[pos:])
                    break
                except UnicodeDecodeError as exc:
                    bad += 1
                    if first_line is None:
                        first_line = lines + block[:pos + exc.start].count(b"\n")
                    pos += exc.end
                    decoder.reset()
            lines += block.count(b"\n")
            offset += len(block)
    if not bad:
        return Encoding("utf-8-sig")
    note = (f"{path}: {bad} byte(s) are not UTF-8 (the first on line {first_line}); they were read as "
            f"Windows-1252 characters (e.g. curly quotes pasted from Word) and the rest as UTF-8. "
            f"Pass --encoding to read the whole file another way.")
    return Encoding("utf-8-sig", cells.FALLBACK_ERRORS, note)


# --- errors ---------------------------------------------------------------------------------

_LINE = re.compile(r"\bline (\d+)")


def _read_error(path: Path, kind: str, exc: BaseException) -> InputError:
    """Describe a library's reading error without its message, which may quote cell values."""
    name = type(exc).__name__
    where = ""
    m = _LINE.search(str(exc)) if name in ("ParserError", "Error") else None
    if m:
        where = f" near line {m.group(1)}"
    if isinstance(exc, PermissionError):
        return InputError(f"{path}: permission denied: cannot read the file")
    if isinstance(exc, UnicodeDecodeError):
        return InputError(f"cannot read {path} with the chosen encoding ({exc.encoding}, byte offset "
                          f"{exc.start}); try --encoding cp1252 or utf-16")
    return InputError(f"cannot read {path} as {KIND_NAME[kind]} ({name}{where}); check the file is a valid "
                      f"{KIND_NAME[kind]} file and not open or locked in another program")


def looks_like_header(names: list) -> bool:
    """A header row names columns: short labels, not sentences from a narrative."""
    return all(isinstance(n, str) and len(n) <= HEADER_MAX_CHARS and len(n.split()) <= HEADER_MAX_WORDS
               for n in names)


def describe_columns(names: list) -> str:
    if not looks_like_header(names):
        return "the first row does not look like a header (it holds long text); the file needs a header row"
    return "columns found: " + (", ".join(repr(c) for c in names[:40]) or "(none)") + (" ..." if len(names) > 40 else "")


# --- reading --------------------------------------------------------------------------------

def _xlsx_rows(path: Path, sheet: str | None) -> tuple[list[str], Iterator[list]]:
    """Header and a row iterator of the chosen sheet; text cells decoded, blank cells as ''."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    names = wb.sheetnames
    if sheet is None and len(names) > 1:
        wb.close()
        raise InputError(f"{path} has {len(names)} sheets ({', '.join(repr(n) for n in names)}); "
                         f"pass --sheet to say which one holds the narratives")
    if sheet is not None and sheet not in names:
        wb.close()
        raise InputError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(repr(n) for n in names)})")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None or all(v is None for v in header):
        wb.close()
        raise InputError(f"{path}: the sheet {ws.title!r} is empty")
    while header and header[-1] is None:
        header = header[:-1]
    cols = [cells.ooxml_unescape(c) if isinstance(c, str) else (f"column_{i + 1}" if c is None else str(c))
            for i, c in enumerate(header)]
    width = len(cols)

    def gen() -> Iterator[list]:
        try:
            for n, row in enumerate(rows, start=2):
                if row is None or all(v is None for v in row):
                    continue
                if len(row) > width and any(v is not None for v in row[width:]):
                    raise InputError(f"{path}: row {n} has values beyond the last named column "
                                     f"(column {width + 1}); give every column a header")
                out = [cells.ooxml_unescape(v) if isinstance(v, str) else ("" if v is None else v)
                       for v in row[:width]]
                yield out + [""] * (width - len(out))
        finally:
            wb.close()

    return cols, gen()


@dataclass
class TableReader:
    """Stream a table in chunks of DataFrames, checking the id and text columns."""

    path: Path
    id_col: str
    text_col: str
    chunk_size: int = 500
    encoding: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.kind = file_format(self.path)
        if not self.path.exists():
            raise InputError(f"{self.path}: file not found")
        if self.path.is_dir() and self.kind != "dataset":
            raise InputError(f"{self.path}: is a folder, not a file")
        if self.kind == "dataset":
            self.files = dataset_files(self.path)
        if self.id_col == self.text_col:
            raise InputError(f"--id-col and --text-col both name {self.id_col!r}; the id and the narrative "
                             f"must be different columns")
        if self.sheet is not None and self.kind != "xlsx":
            raise InputError(f"--sheet applies to Excel files only, not {self.path}")
        self._enc = Encoding("utf-8")
        if self.kind == "csv":
            try:
                self._enc = detect_encoding(self.path, self.encoding)
            except PermissionError:
                raise InputError(f"{self.path}: permission denied: cannot read the file") from None
            if self._enc.note:
                self.notes.append(self._enc.note)

    def _check_columns(self, columns: list) -> None:
        missing = [c for c in (self.id_col, self.text_col) if c not in columns]
        if missing:
            opts = {self.id_col: "--id-col", self.text_col: "--text-col"}
            raise InputError(f"{self.path}: column {missing[0]!r} not found ({describe_columns(columns)}); "
                             f"pass {opts[missing[0]]} to name the right column")
        for c in (self.id_col, self.text_col):
            if columns.count(c) > 1:
                raise InputError(f"{self.path}: the header names column {c!r} {columns.count(c)} times; "
                                 f"rename the duplicates")

    def __iter__(self) -> Iterator[pd.DataFrame]:
        try:
            yield from getattr(self, f"_iter_{self.kind}")()
        except InputError:
            raise
        except (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError):
            raise
        except Exception as exc:  # pandas, pyarrow, openpyxl and zipfile raise their own types
            raise _read_error(self.path, self.kind, exc) from None

    def _iter_csv(self) -> Iterator[pd.DataFrame]:
        first, rows = True, 0
        with pd.read_csv(self.path, dtype=str, keep_default_na=False, na_values=[], encoding=self._enc.name,
                         encoding_errors=self._enc.errors, chunksize=self.chunk_size) as reader:
            for chunk in reader:
                if first:
                    self._check_columns(list(chunk.columns))
                    first = False
                if len(chunk):
                    rows += len(chunk)
                    yield chunk
        if first:
            raise InputError(f"{self.path}: the file is empty")
        if not rows:
            raise InputError(f"{self.path}: the file has a header but no rows")

    def _iter_parquet(self) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.path)
        self._check_columns(list(pf.schema_arrow.names))
        for batch in pf.iter_batches(batch_size=self.chunk_size):
            yield batch.to_pandas(types_mapper=pd.ArrowDtype)

    def _iter_dataset(self) -> Iterator[pd.DataFrame]:
        """The folder's Parquet files in name order (for a partitioned dataset, the partitions' order)."""
        import pyarrow.parquet as pq

        for f in self.files:
            pf = pq.ParquetFile(f)
            self._check_columns(list(pf.schema_arrow.names))
            for batch in pf.iter_batches(batch_size=self.chunk_size):
                yield batch.to_pandas(types_mapper=pd.ArrowDtype)

    def _iter_xlsx(self) -> Iterator[pd.DataFrame]:
        cols, rows = _xlsx_rows(self.path, self.sheet)
        self._check_columns(cols)
        buf = []
        for row in rows:
            buf.append(row)
            if len(buf) >= self.chunk_size:
                yield pd.DataFrame(buf, columns=cols, dtype=object)
                buf = []
        if buf:
            yield pd.DataFrame(buf, columns=cols, dtype=object)


def dataset_files(path: Path) -> list[Path]:
    """A partitioned dataset's Parquet files, in name order (hidden files, e.g. partial writes, left out)."""
    files = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith("."))
    if not files:
        raise InputError(f"{path}: a folder given as input must hold Parquet files (.parquet)")
    return files


def read_table(path: str | Path, *, encoding: str | None = None, sheet: str | None = None,
               excel_escaped: bool = False, columns: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """Read a whole (small) table: labelled files, audit samples, tagged files for estimation.
    ``excel_escaped``: the file was written Excel-safe (audit files); undo the apostrophes.
    ``columns``: read only the columns it accepts (a pooled tagged file's narratives and evidence
    need not be held in memory to estimate)."""
    path = Path(path)
    kind = file_format(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir() and kind != "dataset":
        raise InputError(f"{path}: is a folder, not a file")
    with _read_errors(path, kind):
        if kind in ("dataset", "parquet"):  # a dataset: a pooled tagged folder (rhi-nlp tag ... -o FOLDER)
            import pyarrow.parquet as pq

            files = dataset_files(path) if kind == "dataset" else [path]
            parts = []
            for f in files:
                names = pq.read_schema(f).names
                parts.append(pd.read_parquet(f, columns=[c for c in names if columns(c)] if columns else None))
            return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if kind == "csv":
            enc = detect_encoding(path, encoding)
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=enc.name,
                             encoding_errors=enc.errors, usecols=columns)
            if excel_escaped:
                df.columns = [cells.excel_unescape(c) for c in df.columns]
                for c in df.columns:
                    df[c] = df[c].map(cells.excel_unescape)
            return df
        cols, rows = _xlsx_rows(path, sheet)
        df = pd.DataFrame(list(rows), columns=cols, dtype=object)
        return df[[c for c in df.columns if columns(c)]] if columns else df


@contextmanager
def _read_errors(path: Path, kind: str):
    """A library's error while reading a table becomes an InputError naming the file (never its
    content); an InputError or an interrupt passes through."""
    try:
        yield
    except InputError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except Exception as exc:
        raise _read_error(path, kind, exc) from None


def read_columns(path: str | Path) -> list[str]:
    """The column names of a table (a dataset's: its first file's), without reading its rows."""
    path = Path(path)
    kind = file_format(path)
    with _read_errors(path, kind):
        if kind in ("dataset", "parquet"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(dataset_files(path)[0] if kind == "dataset" else path).names)
        if kind == "csv":
            enc = detect_encoding(path, None)
            return list(pd.read_csv(path, dtype=str, nrows=0, encoding=enc.name, encoding_errors=enc.errors).columns)
        return list(_xlsx_rows(path, None)[0])


def fetch_values(path: str | Path, key_col: str, value_col: str, keys: Iterable[str], *,
                 chunk_size: int = 50_000) -> dict[str, object]:
    """``{key: value}`` of one column for the rows whose ``key_col`` (read as text) is in ``keys``,
    read a chunk at a time with only those two columns, so that taking a few hundred narratives
    out of a pooled file of millions does not hold all of them in memory."""
    path = Path(path)
    kind = file_format(path)
    wanted = set(keys)
    found: dict[str, object] = {}

    def take(frame: pd.DataFrame) -> None:
        ids = frame[key_col].astype(str)
        hit = ids.isin(wanted).to_numpy()
        if hit.any():
            found.update(zip(ids[hit].tolist(), frame[value_col][hit].tolist()))

    with _read_errors(path, kind):
        if kind in ("dataset", "parquet"):
            import pyarrow.parquet as pq

            for f in (dataset_files(path) if kind == "dataset" else [path]):
                for batch in pq.ParquetFile(f).iter_batches(batch_size=chunk_size, columns=[key_col, value_col]):
                    take(batch.to_pandas())
        elif kind == "csv":
            enc = detect_encoding(path, None)
            with pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=enc.name,
                             encoding_errors=enc.errors, usecols=[key_col, value_col], chunksize=chunk_size) as reader:
                for chunk in reader:
                    take(chunk)
        else:
            cols, rows = _xlsx_rows(path, None)
            at = [cols.index(key_col), cols.index(value_col)]
            buf = []
            for row in rows:
                buf.append([row[at[0]] if at[0] < len(row) else None, row[at[1]] if at[1] < len(row) else None])
                if len(buf) >= chunk_size:
                    take(pd.DataFrame(buf, columns=[key_col, value_col], dtype=object))
                    buf = []
            take(pd.DataFrame(buf, columns=[key_col, value_col], dtype=object))
    return found


# --- writing --------------------------------------------------------------------------------

class TableWriter:
    """Append DataFrame chunks to a part file; ``commit()`` renames it into place.

    ``excel_safe`` (CSV): escape cells Excel would run as formulas with a leading apostrophe.
    ``.xlsx`` cells are always written as text cells, never as formulas."""

    def __init__(self, path: str | Path, *, excel_safe: bool = False):
        self.path = Path(path)
        self.kind = file_format(self.path, role="output")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; name a file")
        self.excel_safe = excel_safe
        self.tmp = new_part(self.path)
        self._started = False
        self._pq = None
        self._schema = None
        self._wb = None
        self._rows = 0
        self.truncated_cells = 0

    def write(self, df: pd.DataFrame) -> None:
        try:
            getattr(self, f"_write_{self.kind}")(df)
        except InputError:
            raise
        except PermissionError:
            raise InputError(f"{self.path}: permission denied while writing") from None
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write ({exc.strerror or type(exc).__name__}); check the "
                             f"disk has space and the folder is writable") from None
        self._started = True
        self._rows += len(df)

    def _write_csv(self, df: pd.DataFrame) -> None:
        if self.excel_safe:
            df = df.copy()
            df.columns = [cells.excel_escape(str(c)) for c in df.columns]
            for c in df.columns:
                if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
                    df[c] = df[c].map(lambda v: cells.excel_escape(v) if isinstance(v, str) else v)
        # \r\n line ends make the writer quote any field holding a bare \r, so it reads back whole
        df.to_csv(self.tmp, mode="a" if self._started else "w", header=not self._started,
                  index=False, encoding="utf-8", lineterminator="\r\n")

    def _parquet_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Object columns (mixed types from Excel, or blank for the first rows) become text."""
        import pyarrow as pa

        out = df.copy()
        for c in out.columns:
            if out[c].dtype == object:
                out[c] = pd.array([cells.to_text(v) for v in out[c]], dtype=pd.ArrowDtype(pa.string()))
        return out

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = self._parquet_frame(df)
        if self._pq is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self._schema = pa.schema(fields)
            table = table.cast(self._schema)
            self._pq = pq.ParquetWriter(self.tmp, self._schema)
        else:
            try:
                table = pa.Table.from_pandas(frame, preserve_index=False).cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                bad = next((f.name for f in self._schema
                            if f.name in frame.columns and not _castable(frame[f.name], f.type)), "?")
                raise InputError(f"{self.path}: column {bad!r} changes type after row {self._rows + 1} "
                                 f"(Parquet needs one type per column); write .csv or .xlsx, or clean the "
                                 f"column in the export") from None
        self._pq.write_table(table)

    def _write_xlsx(self, df: pd.DataFrame) -> None:
        from openpyxl import Workbook

        if self._rows + len(df) + 1 > EXCEL_MAX_ROWS:
            raise InputError(f"{self.path}: an .xlsx sheet holds at most {EXCEL_MAX_ROWS:,} rows including "
                             f"the header; write .csv or .parquet for this many rows")
        if self._wb is None:
            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet("tagged")
            self._ws.append([self._text_cell(str(c)) for c in df.columns])
        names = [str(c) for c in df.columns]
        for row in df.itertuples(index=False, name=None):
            out = []
            for name, v in zip(names, row):
                try:
                    v = cells.to_xlsx(v)
                except cells.BinaryCellError:
                    raise InputError(f"{self.path}: column {name!r} holds binary data, which an .xlsx "
                                     f"cell cannot hold; write .parquet, or drop the column") from None
                out.append(self._text_cell(v) if isinstance(v, str) else v)
            self._ws.append(out)

    def _text_cell(self, value: str):
        """A text cell (never a formula or an error code), escaped for XML, within Excel's limit."""
        from openpyxl.cell import WriteOnlyCell

        escaped = cells.ooxml_escape(value)
        if len(escaped) > EXCEL_CELL_LIMIT:
            self.truncated_cells += 1
            while len(escaped) > EXCEL_CELL_LIMIT:
                value = value[:len(value) - (len(escaped) - EXCEL_CELL_LIMIT)]
                escaped = cells.ooxml_escape(value)
        cell = WriteOnlyCell(self._ws, value=None)
        cell._value = escaped
        cell.data_type = "s"
        return cell

    def commit(self) -> None:
        try:
            if self._pq is not None:
                self._pq.close()
            if self._wb is not None:
                self._wb.save(self.tmp)
        except PermissionError:
            raise InputError(f"{self.path}: permission denied while writing") from None
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write ({exc.strerror or type(exc).__name__})") from None
        publish(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self._pq is not None:
                self._pq.close()
            if self._wb is not None:
                self._discard_xlsx_spool()
        except Exception:  # the part is removed below whatever state the writer is in
            pass
        finally:
            self.tmp.unlink(missing_ok=True)

    def _discard_xlsx_spool(self) -> None:
        """openpyxl's write-only sheet spools rows to a temporary file of its own: finish its row
        generator and delete that file, so no narrative text is left in the temp folder."""
        ws = self._ws
        try:
            ws.close()
        finally:
            writer = getattr(ws, "_writer", None)
            if writer is not None and getattr(writer, "out", None):
                Path(writer.out).unlink(missing_ok=True)


def _castable(series: pd.Series, typ) -> bool:
    import pyarrow as pa

    try:
        pa.array(series, from_pandas=True).cast(typ)
        return True
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False


def check_new_folder(path: Path) -> None:
    """An output folder must be new or empty (nothing in it is overwritten)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InputError(f"{path}: the output folder exists and is not empty; name a new or empty folder")


class NewFolder:
    """A folder built in a hidden folder beside the target and renamed into place by ``commit()``
    (so the target is never half-written; ``abort()`` removes the hidden folder). The target
    must be new or empty."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        check_new_folder(self.path)
        if not self.path.parent.is_dir():
            raise InputError(f"{self.path}: the folder {self.path.parent} does not exist")
        import os
        import tempfile

        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.{os.getpid()}.", suffix=".part",
                                         dir=self.path.parent))

    def commit(self) -> None:
        import os

        from .files import _umask

        if os.name != "nt":
            os.chmod(self.tmp, 0o777 & ~_umask())  # mkdtemp made it private; the user's usual permissions
        if self.path.exists():
            self.path.rmdir()  # empty, checked above
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)


@contextmanager
def new_folder(path: str | Path) -> Iterator[Path]:
    """Yield the hidden folder to fill; it becomes ``path`` if the block completes, else is removed."""
    folder = NewFolder(path)
    try:
        yield folder.tmp
    except BaseException:
        folder.abort()
        raise
    folder.commit()


class DatasetWriter:
    """A folder of Parquet files ``part-00000.parquet``, ``part-00001.parquet``, ... of at most
    ``rows_per_file`` rows each, built in a hidden folder beside the target and renamed into place
    when complete (:class:`NewFolder`). The target must not hold files."""

    def __init__(self, path: str | Path, *, rows_per_file: int = 250_000, excel_safe: bool = False):
        self.path = Path(path)
        self.folder = NewFolder(self.path)
        self.tmp = self.folder.tmp
        self.rows_per_file = rows_per_file
        self.truncated_cells = 0
        self._file: TableWriter | None = None
        self._in_file = 0
        self._n = 0

    def write(self, df: pd.DataFrame) -> None:
        if self._file is None or self._in_file >= self.rows_per_file:
            self._close_file()
            self._file = TableWriter(self.tmp / f"part-{self._n:05d}.parquet")
            self._n += 1
            self._in_file = 0
        self._file.write(df)
        self._in_file += len(df)

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.commit()
            self._file = None

    def commit(self) -> None:
        self._close_file()
        self.folder.commit()

    def abort(self) -> None:
        if self._file is not None:
            self._file.abort()
        self.folder.abort()


@contextmanager
def atomic_writer(path: str | Path, *, excel_safe: bool = False) -> Iterator[TableWriter]:
    if file_format(path, role="output") == "dataset":
        writer = DatasetWriter(path)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.commit()
        return
    writer = TableWriter(path, excel_safe=excel_safe)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    try:
        writer.commit()
    finally:
        writer.tmp.unlink(missing_ok=True)


def parse_label(value: object) -> int | None:
    """A hand label as 0 or 1; None for an empty cell; -1 for anything else. Accepts what
    spreadsheets produce: 0/1, 0.0/1.0, with or without spaces."""
    s = "" if value is None else str(value).strip()
    if s in ("", "nan", "None", "<NA>"):
        return None
    if s.endswith(".0"):
        s = s[:-2]
    return int(s) if s in ("0", "1") else -1


def write_table(df: pd.DataFrame, path: str | Path, *, excel_safe: bool = False) -> int:
    """Write a whole table atomically; return the number of cells cut at Excel's limit."""
    with atomic_writer(path, excel_safe=excel_safe) as w:
        w.write(df)
    return w.truncated_cells
