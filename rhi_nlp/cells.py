"""Cell values on their way in and out of files, so that every string round-trips exactly.

- Spreadsheet formulas: a cell that starts with ``= + - @``, a tab or a carriage return is a live
  formula in Excel. ``.xlsx`` cells are always written as text cells; CSV cells are escaped with a
  leading apostrophe (the OWASP rule) where the file is meant for Excel (audit files always, tagged
  files with ``--excel-safe``), and the apostrophe is removed again when rhi-nlp reads such a file.
- XML: ``.xlsx`` cannot hold control characters, and XML turns a bare carriage return into a line
  feed. They are written in OOXML's own escape ``_xHHHH_`` (as Excel does), a literal ``_xHHHH_``
  as ``_x005F_xHHHH_``, and decoded on reading.
- Encodings: a CSV that is UTF-8 apart from a few Windows-1252 bytes (one pasted curly quote) is
  decoded byte by byte, so the rest of the file is not turned into mojibake.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import math
import re

import numpy as np
import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_ESCAPE = "'"

# Characters XML 1.0 cannot carry, plus \r (normalised to \n by XML parsers), plus a literal
# escape sequence, which must itself be escaped to survive decoding.
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def excel_escape(value: str) -> str:
    """Prefix an apostrophe to a string Excel would read as a formula (and to one that already
    starts with an apostrophe, so that :func:`excel_unescape` is exact)."""
    if value and (value.startswith(FORMULA_START) or value.startswith(EXCEL_ESCAPE)):
        return EXCEL_ESCAPE + value
    return value


def excel_unescape(value: str) -> str:
    return value[1:] if value.startswith(EXCEL_ESCAPE) else value


def ooxml_escape(value: str) -> str:
    return _XML_UNSAFE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", value)


def ooxml_unescape(value: str) -> str:
    if "_x" not in value:
        return value
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


# --- text encodings ------------------------------------------------------------------------

_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
FALLBACK_ERRORS = "rhi_nlp_cp1252"


def _cp1252_fallback(exc: UnicodeError):
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    text = "".join(chr(b) if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in bad)
    return text, exc.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)


# --- values for .xlsx and .parquet ----------------------------------------------------------

def is_missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


BLANK_TEXT = {"", "nan", "nat", "none", "<na>"}  # how an empty cell reads once turned into text


def is_blank(v: object) -> bool:
    """An empty cell, whether missing or text that spells an empty value."""
    return is_missing(v) or str(v).strip().lower() in BLANK_TEXT


def to_text(v: object) -> str | None:
    """A cell value as text for a text-only column (Parquet string columns, CSV)."""
    if is_missing(v):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, dict, np.ndarray)):
        return json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str, ensure_ascii=False)
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        return v.isoformat()
    return str(v)


class BinaryCellError(ValueError):
    """A cell holds bytes, which a spreadsheet cannot show."""


def to_xlsx(v: object):
    """A value openpyxl writes faithfully: numbers and naive dates as themselves, time-zone aware
    dates as ISO text, lists as JSON text, everything else as text. Bytes are refused."""
    if is_missing(v):
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        raise BinaryCellError
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else str(v)
    if isinstance(v, pd.Timestamp):
        return v.isoformat() if v.tzinfo else v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.isoformat() if v.tzinfo else v
    if isinstance(v, dt.date):
        return v
    return to_text(v)
