import pytest

from rhi_nlp.text import clean_text


@pytest.mark.parametrize("raw, expected", [
    ("<p>YP went <b>missing</b>&nbsp;again</p><br/>Found at 2am", "YP went missing again\nFound at 2am"),
    (r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0\fs20 YP said mum\'92s partner shouts\par Found}",
     "YP said mum\u2019s partner shouts\nFound"),
    ("  many   spaces\t and\r\nlines  ", "many spaces and\nlines"),
    (None, ""),
    (float("nan"), ""),
    ("   ", ""),
    ("ctrl\x07char", "ctrl char"),
])
def test_text_clean_removes_markup(raw, expected):
    assert clean_text(raw) == expected
