import json

import pytest

from rhi_nlp.errors import ThemeFileError
from rhi_nlp.themes import load_context_rules, load_themes, themes_to_json

TAXONOMY_IDS = ["parental_conflict", "parent_child_conflict", "domestic_abuse", "abuse_neglect",
                "hurt_or_harmed", "criminal_activity", "exploitation_risk", "substance_misuse",
                "mental_health", "peer_pull", "school_bullying", "placement_issues", "bereavement_loss"]


def test_themes_packaged_file_has_the_13_taxonomy_themes():
    themes = load_themes()
    assert [t.id for t in themes] == TAXONOMY_IDS
    assert all(t.definition and t.cues for t in themes)


def test_themes_round_trip_to_json(tmp_path):
    themes = load_themes()
    path = tmp_path / "themes.json"
    path.write_text(themes_to_json(themes), encoding="utf-8")
    assert load_themes(path) == themes


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["themes"][0].update(colour="red"), r"unknown key\(s\) \['colour'\]"),
    (lambda d: d["themes"].append(dict(d["themes"][0])), r"duplicate id 'parental_conflict'"),
    (lambda d: d["themes"][1].update(id="Bad Id"), r"must be lower_snake_case"),
    (lambda d: d["themes"][2].update(cues=[]), r"'cues' must be a non-empty list"),
    (lambda d: d["themes"][0].pop("definition"), r"missing key\(s\) \['definition'\]"),
])
def test_themes_invalid_file_is_rejected_with_reason(tmp_path, mutate, message):
    doc = json.loads(themes_to_json(load_themes()))
    mutate(doc)
    path = tmp_path / "themes.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ThemeFileError, match=message):
        load_themes(path)


def test_themes_not_json_names_line(tmp_path):
    path = tmp_path / "themes.json"
    path.write_text('{"themes": [', encoding="utf-8")
    with pytest.raises(ThemeFileError, match=r"not valid JSON \(line 1"):
        load_themes(path)


def test_context_rules_validate_category(tmp_path):
    rules, scope = load_context_rules()
    assert scope > 0 and any(r.category == "NEGATED" for r in rules)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"literal": "no", "category": "MAYBE", "direction": "forward"}]}))
    with pytest.raises(ThemeFileError, match=r"category 'MAYBE' not one of"):
        load_context_rules(path)
