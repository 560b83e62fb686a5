"""Cleaning of narrative text exported from case-management systems (HTML, RTF remnants)."""

from __future__ import annotations

import html
import re

_RTF_HEAD = re.compile(r"^\s*\{\\rtf", re.IGNORECASE)
_RTF_GROUP = re.compile(r"\{\\\*[^{}]*\}|\{\\(fonttbl|colortbl|stylesheet|info)[^{}]*(\{[^{}]*\}[^{}]*)*\}")
_RTF_PAR = re.compile(r"\\(par|line)\b ?")
_RTF_HEX = re.compile(r"\\'([0-9a-fA-F]{2})")
_RTF_UNI = re.compile(r"\\u(-?\d+)\??")
_RTF_CTRL = re.compile(r"\\[a-zA-Z]+-?\d* ?")
_HTML_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h\d)\s*/?\s*>", re.IGNORECASE)
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,500}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{2,}")


def clean_text(value: object) -> str:
    """Return plain text: RTF and HTML markup removed, entities decoded, control characters and
    runs of spaces collapsed. Line breaks are kept (they mark sentence boundaries)."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    text = str(value)
    if _RTF_HEAD.match(text):
        text = _rtf_to_text(text)
    if "<" in text and ">" in text:
        text = _HTML_BREAK.sub("\n", text)
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", text).strip()


def _rtf_to_text(text: str) -> str:
    text = _RTF_GROUP.sub("", text)
    text = _RTF_PAR.sub("\n", text)
    text = _RTF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]).decode("cp1252", "replace"), text)
    text = _RTF_UNI.sub(lambda m: chr(int(m.group(1)) % 65536), text)
    text = _RTF_CTRL.sub("", text)
    return text.replace("{", "").replace("}", "")
