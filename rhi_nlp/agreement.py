"""Agreement between two labellers of the same file: per theme, the share of narratives both
finished on which they agree and Cohen's kappa (scikit-learn's ``cohen_kappa_score``), and the
disagreements to adjudicate."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .labels import ADJUDICATOR, LabelFile, disagreements, journal_path


def agreement(path: str | Path, *, id_col: str | None = None, text_col: str = "narrative") -> dict:
    from sklearn.metrics import cohen_kappa_score

    if not journal_path(path).exists():  # reading agreement must not start a journal
        raise InputError(f"{path}: no labelling journal beside it; label it with rhi-nlp label first")
    lf = LabelFile(path, id_col=id_col, text_col=text_col)
    names = lf.labellers()
    if len(names) < 2:
        raise InputError(f"{lf.path}: {len(names)} labeller(s) so far; agreement needs a second labeller "
                         f"(rhi-nlp label {lf.path.name} --labeller NAME)")
    a, b = names[:2]
    sa, sb = lf.state(a), lf.state(b)
    both = [i for i in lf.ids if i in sa and sa[i].done and i in sb and sb[i].done]
    themes = {}
    for t in lf.themes:
        ya = [sa[i].labels.get(t.id, 0) for i in both]
        yb = [sb[i].labels.get(t.id, 0) for i in both]
        agree = sum(x == y for x, y in zip(ya, yb))
        kappa = None
        if both and len(set(ya) | set(yb)) > 1:
            kappa = round(float(cohen_kappa_score(ya, yb)), 3) if (len(set(ya)) > 1 or len(set(yb)) > 1) else None
        themes[t.id] = {"n": len(both), "agreement": round(agree / len(both), 3) if both else None,
                        "kappa": kappa, "positives": [sum(ya), sum(yb)]}
    adjudicated = lf.state(ADJUDICATOR)
    dis = [{"id": i, "themes": ts, "adjudicated": bool(adjudicated.get(i) and adjudicated[i].done)}
           for i, ts in disagreements(lf)]
    return {"file": str(lf.path), "labellers": [a, b], "n_rows": len(lf.ids), "double_labelled": len(both),
            "double_labelled_share": round(len(both) / len(lf.ids), 3) if lf.ids else 0.0,
            "themes": themes, "disagreements": dis,
            "unadjudicated": sum(1 for d in dis if not d["adjudicated"])}
