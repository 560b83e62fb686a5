"""Reading the dates that define a reporting period, without guessing.

ISO dates (``2025-01-02``, with or without a time and a time-zone offset) are read as ISO: the
calendar date as written, whatever the offset. Day-first dates (``02/01/2025``) are read as
day/month only when the column shows it (some day above 12 and no month above 12); a column in
which every date could be read either way, or that mixes forms, is refused unless the user names
the format with ``--date-format``. Spreadsheet date cells are dates already.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from .cells import is_blank
from .errors import InputError, show_id

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$)")
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    to_pydt = getattr(value, "to_pydatetime", None)  # pandas Timestamp
    if to_pydt is not None:
        return to_pydt().date()
    return None


def parse_date_option(value: str | None, flag: str, date_format: str | None = None) -> dt.date | None:
    """A --from/--to value: ISO, the --date-format, or DD/MM/YYYY when the day is above 12."""
    if not value:
        return None
    value = value.strip()
    if date_format:
        try:
            return dt.datetime.strptime(value, date_format).date()
        except ValueError:
            raise InputError(f"{flag} {value!r} does not match --date-format {date_format!r}") from None
    m = _ISO.match(value)
    if m:
        return _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)), flag, value)
    m = _DMY.match(value)
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 12 or a == b:
            return _ymd(y, b, a, flag, value)
        raise InputError(f"{flag} {value!r} could be {a} {_month(b)} or {b} {_month(a)}; write it as "
                         f"YYYY-MM-DD (e.g. {y}-{b:02d}-{a:02d})")
    raise InputError(f"{flag} {value!r} is not a date: use YYYY-MM-DD")


def _month(m: int) -> str:
    return dt.date(2000, m, 1).strftime("%B") if 1 <= m <= 12 else f"month {m}"


def _ymd(y: int, m: int, d: int, where: str, value: str) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a real date") from None


def parse_date_column(values: Sequence, ids: Sequence, *, column: str, path, date_format: str | None = None
                      ) -> list[dt.date]:
    """The date of every row, or an InputError naming the column and a row id."""
    out: list[dt.date | None] = [None] * len(values)
    dmy: list[tuple[int, int, int, int]] = []  # (row, first, second, year)
    forms: dict[str, int] = {}
    for k, v in enumerate(values):
        d = _as_date(v)
        if d is not None:
            out[k] = d
            continue
        if is_blank(v):
            raise InputError(f"{path}: row id {show_id(ids[k])}, column {column!r}: the date is empty; "
                             f"the period of every row must be known")
        s = str(v).strip()
        if date_format:
            try:
                out[k] = dt.datetime.strptime(s, date_format).date()
            except ValueError:
                raise InputError(f"{path}: row id {show_id(ids[k])}, column {column!r}: does not match "
                                 f"--date-format {date_format!r}") from None
            continue
        m = _ISO.match(s) or _YMD_SLASH.match(s)
        if m:
            forms.setdefault("YYYY-MM-DD", k)
            out[k] = _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)),
                          f"{path}: row id {show_id(ids[k])}, column {column!r}", s if len(s) < 40 else "the value")
            continue
        m = _DMY.match(s)
        if m:
            forms.setdefault("DD/MM/YYYY", k)
            dmy.append((k, int(m.group(1)), int(m.group(2)), int(m.group(3))))
            continue
        raise InputError(f"{path}: row id {show_id(ids[k])}, column {column!r}: not a date in a form rhi-nlp "
                         f"reads without guessing (YYYY-MM-DD or DD/MM/YYYY); pass --date-format, e.g. "
                         f"--date-format %d-%b-%Y for 02-Jan-2025")
    if len(forms) > 1:
        (fa, ka), (fb, kb) = list(forms.items())[:2]
        raise InputError(f"{path}: column {column!r} mixes date forms (row id {show_id(ids[ka])} is {fa}, row id "
                         f"{show_id(ids[kb])} is {fb}); make them consistent or pass --date-format")
    if dmy:
        day_first = [r for r in dmy if r[1] > 12]
        month_first = [r for r in dmy if r[2] > 12]
        if day_first and month_first:
            raise InputError(f"{path}: column {column!r} mixes day-first and month-first dates (row ids "
                             f"{show_id(ids[day_first[0][0]])} and {show_id(ids[month_first[0][0]])}); pass "
                             f"--date-format %d/%m/%Y or %m/%d/%Y")
        if not day_first and not month_first and any(r[1] != r[2] for r in dmy):
            r = next(r for r in dmy if r[1] != r[2])
            raise InputError(f"{path}: column {column!r}: every date could be read day-first or month-first "
                             f"(row id {show_id(ids[r[0]])} could be {r[1]} {_month(r[2])} or {r[2]} "
                             f"{_month(r[1])}); pass --date-format %d/%m/%Y (UK) or %m/%d/%Y")
        for k, a, b, y in dmy:
            d_, m_ = (b, a) if month_first else (a, b)
            out[k] = _ymd(y, m_, d_, f"{path}: row id {show_id(ids[k])}, column {column!r}", f"{a}/{b}/{y}")
    return out  # type: ignore[return-value]
