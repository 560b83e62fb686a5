"""Dates are read without guessing: ISO as ISO, day-first only when the column shows it."""

import datetime as dt

import pytest

from rhi_nlp.dates import parse_date_column, parse_date_option
from rhi_nlp.errors import InputError

D = dt.date


def _parse(values, **kw):
    return parse_date_column(values, [f"id{i}" for i in range(len(values))], column="when", path="f.csv", **kw)


@pytest.mark.parametrize("values, expected", [
    (["2025-01-02", "2025-12-31"], [D(2025, 1, 2), D(2025, 12, 31)]),            # ISO is never day-first
    (["2025-01-02T23:30:00-01:00", "2025-01-03 08:00:00+05:30", "2025-01-04T10:00:00Z"],
     [D(2025, 1, 2), D(2025, 1, 3), D(2025, 1, 4)]),                              # offsets: the date as written
    (["02/01/2025", "25/12/2025"], [D(2025, 1, 2), D(2025, 12, 25)]),             # day above 12: day-first
    (["01/02/2025", "12/25/2025"], [D(2025, 1, 2), D(2025, 12, 25)]),             # month-first shown by 25
    (["2025/03/04"], [D(2025, 3, 4)]),
    ([dt.datetime(2025, 3, 4, 10, 0)], [D(2025, 3, 4)]),                           # spreadsheet date cells
])
def test_dates_read_without_guessing(values, expected):
    assert _parse(values) == expected


@pytest.mark.parametrize("values, message", [
    (["01/02/2025", "03/04/2025"], r"column 'when': every date could be read day-first or month-first \(row id 'id0'"),
    (["2025-01-02", "13/01/2025"], r"column 'when' mixes date forms \(row id 'id0' is YYYY-MM-DD, row id 'id1' is DD/MM/YYYY\)"),
    (["13/01/2025", "01/13/2025"], r"mixes day-first and month-first dates \(row ids 'id0' and 'id1'\)"),
    (["2 Jan 2025"], r"row id 'id0', column 'when': not a date in a form rhi-nlp reads without guessing"),
    (["2025-02-30"], r"row id 'id0', column 'when': '2025-02-30' is not a real date"),
    (["2025-01-02", ""], r"row id 'id1', column 'when': the date is empty"),
])
def test_dates_ambiguous_or_mixed_columns_are_refused(values, message):
    with pytest.raises(InputError, match=message):
        _parse(values)


def test_dates_format_option_settles_ambiguity():
    assert _parse(["01/02/2025", "03/04/2025"], date_format="%d/%m/%Y") == [D(2025, 2, 1), D(2025, 4, 3)]
    assert _parse(["01/02/2025"], date_format="%m/%d/%Y") == [D(2025, 1, 2)]
    with pytest.raises(InputError, match=r"row id 'id0', column 'when': does not match --date-format '%d/%m/%Y'"):
        _parse(["2025-01-02"], date_format="%d/%m/%Y")


def test_dates_options():
    assert parse_date_option("2025-01-02", "--from") == D(2025, 1, 2)
    assert parse_date_option("31/03/2025", "--to") == D(2025, 3, 31)
    with pytest.raises(InputError, match=r"--from '01/02/2025' could be 1 February or 2 January; write it as YYYY-MM-DD"):
        parse_date_option("01/02/2025", "--from")
    assert parse_date_option("01/02/2025", "--from", "%d/%m/%Y") == D(2025, 2, 1)
