"""The theme taxonomy and the ConText rules, loaded from the package's JSON data files.

Themes are data: adding one means a new entry in ``data/themes.json`` plus labelled examples and
a retrain, with no code change.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from .errors import ThemeFileError

_THEME_KEYS = {"id", "name", "definition", "include", "exclude", "cues", "keywords", "clarifications"}
_RULE_KEYS = {"literal", "category", "direction", "max_scope", "exclude_themes"}
CATEGORIES = ("NEGATED", "ADVICE", "QUESTION", "HYPOTHETICAL", "HISTORICAL", "OTHER_PERSON",
              "PSEUDO", "TERMINATE")
MODIFIERS = CATEGORIES[:6]
DIRECTIONS = ("forward", "backward", "bidirectional")


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    definition: str
    include: str
    exclude: str
    cues: tuple[str, ...]
    keywords: tuple[str, ...]
    # rules settled where two careful labellers differed (from the corpus's adjudication)
    clarifications: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cues"], d["keywords"] = list(self.cues), list(self.keywords)
        d["clarifications"] = list(self.clarifications)
        return d


@dataclass(frozen=True)
class ContextRule:
    literal: str
    category: str
    direction: str
    max_scope: int | None = None
    exclude_themes: tuple[str, ...] = ()


def _data_path(name: str) -> Path:
    return Path(str(resources.files("rhi_nlp") / "data" / name))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (inputs can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThemeFileError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ThemeFileError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None


def themes_path(path: str | Path | None = None) -> Path:
    return Path(path) if path else _data_path("themes.json")


def rules_path(path: str | Path | None = None) -> Path:
    return Path(path) if path else _data_path("context_rules.json")


def load_themes(path: str | Path | None = None) -> tuple[Theme, ...]:
    """Load and validate the themes file (the packaged one by default)."""
    path = themes_path(path)
    doc = _read_json(path)
    items = doc.get("themes") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise ThemeFileError(f"{path}: expected an object with a non-empty 'themes' list")
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items):
        where = f"{path}: theme #{i + 1}"
        if not isinstance(item, dict):
            raise ThemeFileError(f"{where}: expected an object")
        unknown = set(item) - _THEME_KEYS
        if unknown:
            raise ThemeFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_THEME_KEYS)}")
        missing = {"id", "name", "definition", "cues"} - set(item)
        if missing:
            raise ThemeFileError(f"{where}: missing key(s) {sorted(missing)}")
        tid = item["id"]
        if not isinstance(tid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", tid):
            raise ThemeFileError(f"{where}: id {tid!r} must be lower_snake_case")
        if tid in seen:
            raise ThemeFileError(f"{where}: duplicate id {tid!r}")
        seen.add(tid)
        cues = item["cues"]
        if not isinstance(cues, list) or not cues or not all(isinstance(c, str) and c.strip() for c in cues):
            raise ThemeFileError(f"{where} ({tid}): 'cues' must be a non-empty list of phrases")
        clar = item.get("clarifications", [])
        if not isinstance(clar, list) or not all(isinstance(c, str) and c.strip() for c in clar):
            raise ThemeFileError(f"{where} ({tid}): 'clarifications' must be a list of sentences")
        out.append(Theme(id=tid, name=str(item["name"]), definition=str(item["definition"]),
                         include=str(item.get("include", "")), exclude=str(item.get("exclude", "")),
                         cues=tuple(c.lower().strip() for c in cues),
                         keywords=tuple(item.get("keywords", ())), clarifications=tuple(clar)))
    return tuple(out)


def themes_to_json(themes: tuple[Theme, ...], version: str = "1.0") -> str:
    return json.dumps({"version": version, "themes": [t.to_dict() for t in themes]}, indent=1,
                      ensure_ascii=False)


def load_context_rules(path: str | Path | None = None) -> tuple[tuple[ContextRule, ...], int]:
    """Load and validate the ConText rules; returns (rules, default max scope in tokens)."""
    path = rules_path(path)
    doc = _read_json(path)
    items = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise ThemeFileError(f"{path}: expected an object with a non-empty 'rules' list")
    default_scope = doc.get("default_max_scope", 8)
    rules = []
    for i, item in enumerate(items):
        where = f"{path}: rule #{i + 1}"
        unknown = set(item) - _RULE_KEYS
        if unknown:
            raise ThemeFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}")
        if item.get("category") not in CATEGORIES:
            raise ThemeFileError(f"{where}: category {item.get('category')!r} not one of {list(CATEGORIES)}")
        if item.get("direction") not in DIRECTIONS:
            raise ThemeFileError(f"{where}: direction {item.get('direction')!r} not one of {list(DIRECTIONS)}")
        if not isinstance(item.get("literal"), str) or not item["literal"].strip():
            raise ThemeFileError(f"{where}: 'literal' must be a non-empty phrase")
        rules.append(ContextRule(literal=item["literal"].lower(), category=item["category"],
                                 direction=item["direction"], max_scope=item.get("max_scope"),
                                 exclude_themes=tuple(item.get("exclude_themes", ()))))
    return tuple(rules), int(default_scope)


@dataclass(frozen=True)
class UnionTheme:
    """A theme defined as 'any of' several themes (e.g. any family conflict)."""

    id: str
    name: str
    definition: str
    of: tuple[str, ...]


def load_unions(path: str | Path | None = None) -> tuple[UnionTheme, ...]:
    """Union themes from the themes file ('unions' list); each must name known theme ids."""
    path = themes_path(path)
    doc = _read_json(path)
    known = {t.id for t in load_themes(path)}
    out = []
    for i, item in enumerate(doc.get("unions", [])):
        where = f"{path}: union #{i + 1}"
        unknown = set(item) - {"id", "name", "definition", "of"}
        if unknown:
            raise ThemeFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: ['definition', 'id', 'name', 'of']")
        parts = item.get("of", [])
        bad = [p for p in parts if p not in known]
        if len(parts) < 2 or bad:
            raise ThemeFileError(f"{where}: 'of' must list at least two known theme ids (unknown: {bad})")
        if item.get("id") in known:
            raise ThemeFileError(f"{where}: id {item.get('id')!r} is already a theme id")
        out.append(UnionTheme(id=item["id"], name=item.get("name", item["id"]),
                              definition=item.get("definition", ""), of=tuple(parts)))
    return tuple(out)


_RELATION_KEYS = {"version", "_note", "roles", "precedence", "relations"}


def relations_path(path: str | Path | None = None) -> Path:
    return Path(path) if path else _data_path("relations.json")


def load_relations(path: str | Path | None = None) -> dict:
    """Load and validate the relation patterns (who is in conflict with whom), with each "$ROLE"
    placeholder expanded into a token test; returns {relation: [matcher patterns]} plus the
    precedence order under the key "precedence"."""
    path = relations_path(path)
    doc = _read_json(path)
    if not isinstance(doc, dict) or set(doc) - _RELATION_KEYS:
        raise ThemeFileError(f"{path}: expected keys {sorted(_RELATION_KEYS)}")
    roles, rels = doc.get("roles", {}), doc.get("relations", {})
    if not isinstance(roles, dict) or not isinstance(rels, dict) or not rels:
        raise ThemeFileError(f"{path}: 'roles' and 'relations' must be objects")
    out: dict = {}
    for name, patterns in rels.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not isinstance(patterns, list):
            raise ThemeFileError(f"{path}: relation {name!r} must be lower_snake_case with a list of patterns")
        expanded = []
        for k, pattern in enumerate(patterns):
            toks = []
            for tok in pattern:
                if isinstance(tok, str):
                    role = tok[1:] if tok.startswith("$") else None
                    if role not in roles:
                        raise ThemeFileError(f"{path}: relation {name!r} pattern #{k + 1}: unknown role {tok!r}; "
                                             f"roles: {sorted(roles)}")
                    toks.append({"LOWER": {"IN": [w.lower() for w in roles[role]]}})
                elif isinstance(tok, dict):
                    toks.append(tok)
                else:
                    raise ThemeFileError(f"{path}: relation {name!r} pattern #{k + 1}: tokens are objects or '$ROLE'")
            expanded.append(toks)
        out[name] = expanded
    precedence = doc.get("precedence", list(out))
    if sorted(precedence) != sorted(out):
        raise ThemeFileError(f"{path}: 'precedence' must list each relation once: {sorted(out)}")
    out["precedence"] = precedence
    return out
