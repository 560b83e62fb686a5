import pandas as pd
import pytest

from rhi_nlp.errors import InputError
from rhi_nlp.io import TableReader, atomic_writer, read_table


def _read_all(path, **kw):
    return pd.concat(list(TableReader(path, kw.pop("id_col", "id"), kw.pop("text_col", "narrative"), **kw)))


def test_io_missing_column_lists_columns_found(narratives_csv):
    with pytest.raises(InputError, match=r"column 'story' not found \(columns found: 'id', 'narrative', "
                                         r"'team'\); pass --text-col"):
        _read_all(narratives_csv, text_col="story")


def test_io_windows_1252_csv_is_read_with_a_note(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("id,narrative\n1,Mum\u2019s partner \u2013 rows\n".encode("cp1252"))
    reader = TableReader(path, "id", "narrative")
    df = pd.concat(list(reader))
    assert df["narrative"].iloc[0] == "Mum\u2019s partner \u2013 rows"
    assert "not UTF-8" in reader.notes[0] and "--encoding" in reader.notes[0]
    assert "rows" not in reader.notes[0]


def test_io_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(InputError, match=r"cannot read .*broken.xlsx as"):
        _read_all(path)


@pytest.mark.parametrize("name, message", [
    ("data.xls", r"unsupported input file type '.xls' \(save it from Excel as .xlsx\)"),
    ("missing.csv", r"missing.csv: file not found"),
])
def test_io_bad_paths(tmp_path, name, message):
    path = tmp_path / name
    if name.endswith(".xls"):
        path.write_bytes(b"x")
    with pytest.raises(InputError, match=message):
        TableReader(path, "id", "narrative")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_io_round_trip_each_format(tmp_path, suffix):
    df = pd.DataFrame({"id": ["x1", "x2", "x3"], "narrative": ["a", "b", "c"], "n": ["1", "2", "3"]})
    path = tmp_path / f"t{suffix}"
    with atomic_writer(path) as w:
        w.write(df.iloc[:2])
        w.write(df.iloc[2:])
    back = _read_all(path, chunk_size=2)
    assert back["id"].astype(str).tolist() == ["x1", "x2", "x3"]
    assert back["narrative"].astype(str).tolist() == ["a", "b", "c"]


def test_io_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_writer(path) as w:
            w.write(pd.DataFrame({"a": [1]}))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_io_read_table_small_file(narratives_csv):
    assert len(read_table(narratives_csv)) == 5
