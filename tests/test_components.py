"""ConText behaviour on invented case-note sentences: which cue mentions count."""

import pytest


def _mods(nlp, text, theme):
    doc = nlp(text)
    return [(s.text.lower(), s._.rhi_modifiers) for s in doc.spans["rhi_cues"] if s.label_ == theme]


@pytest.mark.parametrize("text, theme, cue, expected", [
    ("No concerns re CSE.", "exploitation_risk", "cse", "NEGATED"),
    ("YP denies any drug use", "substance_misuse", "drug use", "NEGATED"),
    ("Discussed risks of county lines with YP", "exploitation_risk", "county lines", "ADVICE"),
    ("Advised about alcohol and given Childline number", "substance_misuse", "alcohol", "ADVICE"),
    ("Asked about self-harm but she would not answer", "mental_health", "self-harm", "QUESTION"),
    ("If there were ever any arguments at home he would tell his SW", "parental_conflict", "arguments", "HYPOTHETICAL"),
    ("Mum and dad used to argue but things are calm now", "parental_conflict", "argue", "HISTORICAL"),
    ("Her friend's parents argue a lot", "parental_conflict", "argue", "OTHER_PERSON"),
    ("Mum suffers with depression", "mental_health", "depression", "OTHER_PERSON"),
])
def test_components_context_marks_non_affirmed_mentions(nlp, text, theme, cue, expected):
    found = dict(_mods(nlp, text, theme))
    assert expected in found[cue]


@pytest.mark.parametrize("text, theme, cue", [
    ("Mum and her partner have been rowing every night", "parental_conflict", "rowing"),
    ("She has been self-harming by cutting", "mental_health", "self-harming"),
    ("He was arrested for shoplifting", "criminal_activity", "shoplifting"),
    ("No concerns re CSE but he admitted smoking weed most days", "substance_misuse", "weed"),
])
def test_components_affirmed_mentions_have_no_modifier(nlp, text, theme, cue):
    found = dict(_mods(nlp, text, theme))
    assert found[cue] == ()


def test_components_terminator_ends_negation_scope(nlp):
    doc = nlp("No concerns re CSE however mum and dad are arguing")
    by_text = {s.text.lower(): s._.rhi_modifiers for s in doc.spans["rhi_cues"]}
    assert by_text["cse"] == ("NEGATED",)
    assert by_text["arguing"] == ()


@pytest.mark.parametrize("text, n", [
    ("YP returned 0230 - argued w M re curfew - no concerns re CSE", 3),
    ("Reason for going missing:\nShe said home is tense.\nRisks:\nnone", 4),
    ("argued with mum YP then left YP says he went to the park", 3),
    ("One sentence only", 1),
])
def test_components_case_note_sentences(nlp, text, n):
    assert len(list(nlp(text).sents)) == n


def test_components_pipeline_survives_serialisation(nlp, tmp_path):
    import spacy

    nlp.to_disk(tmp_path / "pipe")
    again = spacy.load(tmp_path / "pipe")
    doc = again("No concerns re CSE.")
    assert [s._.rhi_modifiers for s in doc.spans["rhi_cues"]] == [("NEGATED",)]


def test_components_multiprocessing_pipe(nlp):
    texts = ["No concerns re CSE.", "Mum and dad keep rowing."] * 3
    single = [[(s.text, s._.rhi_modifiers) for s in d.spans["rhi_cues"]] for d in nlp.pipe(texts)]
    multi = [[(s.text, s._.rhi_modifiers) for s in d.spans["rhi_cues"]] for d in nlp.pipe(texts, n_process=2, batch_size=2)]
    assert multi == single and single[0] == [("CSE", ("NEGATED",))]


@pytest.mark.parametrize("text, cue, negated", [
    ("Risks:\nCSE: N\nSubstance misuse: Y - cannabis daily", "CSE", True),          # checklist answer N
    ("Risks:\nCSE: N\nSubstance misuse: Y - cannabis daily", "cannabis", False),
    ("Self-harm: not discussed", "Self-harm", True),
    ("Bullying: declined to answer", "Bullying", True),
    ("Domestic abuse - no", "Domestic abuse", True),
    ("He said they don't argue.", "argue", True),                                  # n't negates
    ("No arguments in placement.", "arguments", True),                              # trigger holds the cue
    ("They don't get on.", "don't get on", False),                                  # pseudo: not a negation
])
def test_components_checklists_and_negation(nlp, text, cue, negated):
    doc = nlp(text)
    span = next(s for s in doc.spans["rhi_cues"] if s.text == cue)
    assert ("NEGATED" in span._.rhi_modifiers) is negated


@pytest.mark.parametrize("text, relations", [
    ("She and mum argue at every meal.", ["child_adult_conflict"]),
    ("YP argued with mum about her phone.", ["child_adult_conflict"]),
    ("Mum and her partner were arguing all night.", ["adults_conflict"]),
    ("Mum argued with her partner.", ["adults_conflict"]),                          # precedence over child-adult
    ("Dad took his PlayStation and he is grounded.", ["child_adult_conflict", "child_adult_conflict"]),
    ("They were screaming at each other.", ["adults_conflict"]),
    ("He went to the park with friends.", []),
])
def test_components_relations(nlp, text, relations):
    doc = nlp(text)
    assert [s.label_ for s in doc.spans["rhi_relations"]] == relations


def test_components_relation_token_takes_the_scope(nlp):
    from rhi_nlp.features import doc_to_record
    from rhi_nlp.themes import load_themes

    ids = tuple(t.id for t in load_themes())
    assert doc_to_record(nlp("Mum and dad don't argue."), ids).marked[0].endswith("x_rel_adults_conflict")
    assert doc_to_record(nlp("Her friend's parents row all the time."), ids).marked[0].endswith("o_rel_adults_conflict")
