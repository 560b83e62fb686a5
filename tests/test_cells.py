"""Every string round-trips exactly through every output format, and no cell is a live formula."""

import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rhi_nlp import cells
from rhi_nlp.io import read_table, write_table

# Any text, with the troublemakers made common: \r, NUL and other control characters, formula
# starts, OOXML escape look-alikes, apostrophes, quotes and non-Latin scripts.
tricky = st.sampled_from(["\r", "\n", "\r\n", "\x00", "\x0b", "\x1f", "=", "+", "-", "@", "\t", "'", '"', ",",
                          "_x000D_", "_x005F_", "#N/A", "=SUM(A1:A9)", "\ufeff", "\u4e2d\u6587", "\u0627\u0644",
                          "\U0001F600", " ", ""])
cell_text = st.lists(st.one_of(tricky, st.text(max_size=12)), max_size=6).map("".join)


def _frame(values):
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(values))], "text": values})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(cell_text, min_size=1, max_size=8))
@pytest.mark.parametrize("ext, excel_safe", [("csv", False), ("csv", True), ("xlsx", False), ("parquet", False)])
def test_cells_any_string_round_trips(tmp_path, ext, excel_safe, values):
    path = tmp_path / f"t.{ext}"
    write_table(_frame(values), path, excel_safe=excel_safe)
    back = read_table(path, excel_escaped=excel_safe)
    assert back["text"].tolist() == values
    assert back["id"].tolist() == [f"r{i}" for i in range(len(values))]


@settings(max_examples=40, deadline=None)
@given(value=cell_text)
def test_cells_escapes_invert(value):
    assert cells.excel_unescape(cells.excel_escape(value)) == value
    assert cells.ooxml_unescape(cells.ooxml_escape(value)) == value
    assert not cells.excel_escape(value).startswith(cells.FORMULA_START)


def test_cells_xlsx_holds_no_formula(tmp_path):
    path = tmp_path / "f.xlsx"
    write_table(_frame(["=HYPERLINK(\"http://x\",\"y\")", "+1", "@SUM(1)", "#N/A"]), path)
    with zipfile.ZipFile(path) as z:
        sheet = next(n for n in z.namelist() if n.startswith("xl/worksheets/"))
        xml = z.read(sheet).decode()
    assert "<f>" not in xml and "<f " not in xml and 't="e"' not in xml
    from openpyxl import load_workbook

    ws = load_workbook(path).worksheets[0]  # not data_only: a formula would show as data_type 'f'
    assert {c.data_type for row in ws.iter_rows(min_row=2) for c in row} == {"s"}


def test_cells_excel_safe_csv_quotes_formulas_only_when_asked(tmp_path):
    df = _frame(["=1+1", "-dash", "plain"])
    write_table(df, tmp_path / "safe.csv", excel_safe=True)
    write_table(df, tmp_path / "raw.csv")
    safe = (tmp_path / "safe.csv").read_text(encoding="utf-8")
    assert "'=1+1" in safe and "'-dash" in safe and "'plain" not in safe
    assert "'=1+1" not in (tmp_path / "raw.csv").read_text(encoding="utf-8")
