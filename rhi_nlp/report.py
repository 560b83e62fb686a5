"""Wording and pictures for estimates: FOI-ready text, Markdown, HTML, JSON and a PNG chart.
All wording lives here."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

from .foi import CENSUS_NOTE
from .model_only import TRIAGE_NOTE

PLAIN_METHOD = {
    "difference": ("A random sample of {n} {unit} was read and labelled by hand. The hand labels were "
                   "combined with the model's probabilities for every {unit_one} (the difference "
                   "estimator), so the model can narrow the interval but cannot bias it. The interval is "
                   "a {conf} confidence interval for this finite set of {unit}."),
    "stratified": ("A sample of {n} {unit}, drawn more heavily where the model was unsure, was read and "
                   "labelled by hand; each group of the sample was weighted by how much of the file it "
                   "stands for (stratified difference estimator). The interval is a {conf} confidence "
                   "interval for this finite set of {unit}."),
    "per_group": ("Each group drew a random sample of its own {unit} ({n} in all), which was read and labelled "
                  "by hand; each group's hand labels were combined with the model's probabilities for that "
                  "group, and the groups added up, each weighted by how many {unit} it has (stratified "
                  "difference estimator). The interval is a {conf} confidence interval for this finite set of "
                  "{unit}."),
    "census": ("All {n} {unit} were read and labelled by hand, so the count is exact: the interval only shows "
               "the rounding."),
    "cluster": ("A random sample of children was drawn and all their {unit} were read and labelled by hand; "
                "the interval allows for several {unit} belonging to the same child. It is a {conf} "
                "confidence interval for this finite set of {unit}."),
    "model": ("No sample was checked by hand. The figure is the sum of the model's probabilities. The "
              "range allows for chance, for the model's calibration and for how far such counts moved "
              "between styles of writing the model had not seen, as far as the text looks unlike its "
              "training data. It is a model-based range, not a confidence interval: the model has not been "
              "checked against these narratives, so the figure is for triage and planning an audit, not "
              "for publication."),
}


def _method_key(r: dict) -> str:
    m = r["method"]
    if r["model_only"]:
        return "model"
    if "cluster" in m:
        return "cluster"
    if "per group" in m:
        return "per_group"
    if r["n_total"] is not None and r["n_audited"] == r["n_total"]:
        return "census"
    if "stratified" in m:
        return "stratified"
    return "difference"


MODEL_ONLY_TAG = "MODEL-ONLY TRIAGE, not audited, not for publication"

WITHHELD_REASON = {
    "secondary": "the figure is withheld (c) to protect a small count in another group",
    "small group": "the figure is withheld (c) because the group is small",
    "nearly all": "the figure is withheld (c) because nearly all of this group would be identified",
}


def sentence(r: dict) -> str:
    """One FOI-ready sentence with the figure, its interval, what was counted and the method."""
    d = r["display"]
    conf = f"{round(r['confidence'] * 100):d}%"
    unit = r["unit"]
    scope = f" in the group '{r['group']}'" if r["group"] is not None else ""
    denom = (f"Of {d['denominator']} {unit} with a recorded narrative{scope} ({r['period']}; "
             f"{d['not_recorded']} not recorded: blank or declined)")
    if r["suppressed"] and r.get("suppression_reason") in WITHHELD_REASON:
        tag = f"{MODEL_ONLY_TAG}: " if r["model_only"] else ""
        return f"{tag}{denom}, {WITHHELD_REASON[r['suppression_reason']]}."
    if r["suppressed"] and r["model_only"]:
        return f"{MODEL_ONLY_TAG}: {denom}, the model's figure is small ({d['estimate']}) and withheld."
    if r["suppressed"]:
        fig = f"an estimated {d['estimate']} recorded {r['name'].lower()}"
        return f"{denom}, {fig} (the exact figure is withheld because it is small)."
    share = f", {r['share_percent']}%" if r["share_percent"] is not None else ""
    if r["model_only"]:
        # triage wording: no share and no "recorded" sentence that could be pasted as a finding
        check = " The checks say: audit before using it." if (r.get("shift_check") or {}).get("flag") else ""
        return (f"{MODEL_ONLY_TAG}: {r['name']}{scope}, {r['period']}: the model's sum of probabilities is "
                f"{d['estimate']} of {d['denominator']} {unit} with a recorded narrative (model-based range "
                f"{d['ci_low']} to {d['ci_high']}).{check}")
    return (f"{denom}, an estimated {d['estimate']}{share} recorded {r['name'].lower()} "
            f"({conf} confidence interval {d['ci_low']} to {d['ci_high']}; audited sample of "
            f"{r['n_audited']:,}).")


def paragraph_parts(r: dict) -> list[str]:
    """The figure, the definition used, the method in plain English, notes, and the rounding rule."""
    conf = f"{round(r['confidence'] * 100):d}%"
    unit_one = "child" if r["unit"] == "children" else "RHI"
    method = PLAIN_METHOD[_method_key(r)].format(n=r["n_audited"], unit=r["unit"], unit_one=unit_one, conf=conf)
    parts = [sentence(r), f"Definition used: {r['definition']}", method]
    parts += [n for n in r["notes"] if n not in (TRIAGE_NOTE, CENSUS_NOTE)]  # the method paragraph says it already
    rule = r["disclosure"]
    parts.append(f"Figures are rounded to the nearest {rule['rounding_base']} and interval limits rounded outwards; "
                 f"figures below {rule['threshold']} are shown as 'fewer than {rule['threshold']}', and small groups "
                 f"are withheld (c). A theme is counted only where the narrative "
                 "records it as a current factor: negated, advice-only, hypothetical, historical or "
                 "other people's mentions are not counted.")
    return parts


def kind_text(r: dict) -> str:
    """What a row's figure is, said on every row: audited, or model-only triage."""
    if r["model_only"]:
        return "model-only triage (not audited; audit before publishing)"
    if _method_key(r) == "census":
        return f"all {r['n_audited']:,} labelled by hand: the exact count, rounded"
    return f"audited sample of {r['n_audited']:,}; {round(r['confidence'] * 100):d}% confidence interval"


def mixed_banner(results: list[dict]) -> str | None:
    kinds = {bool(r["model_only"]) for r in results}
    if len(kinds) < 2:
        return None
    n_model = len({r["theme"] for r in results if r["model_only"]})
    return (f"Mixed report: {n_model} theme(s) are model-only triage (not audited, not for publication) beside "
            f"audited themes; every line says which.")


def interval_text(r: dict) -> str:
    """The interval as a table shows it: 'withheld' for a suppressed figure."""
    d = r["display"]
    return "withheld" if r["suppressed"] else f"{d['ci_low']} to {d['ci_high']}"


def render_text(results: list[dict]) -> str:
    banner = mixed_banner(results)
    out = [banner, ""] if banner else []
    for r in results:
        head = r["name"] + (f" [{r['group']}]" if r["group"] is not None else "") + (
            f"  ({MODEL_ONLY_TAG})" if r["model_only"] else "")
        out.append(head)
        out.append("  " + sentence(r))
        out.append(f"  Method: {r['method']}.")
        for n in r["notes"]:
            out.append(f"  {n}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")         # active anywhere: code, emphasis, links, tables
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-]|\d+[.)])")   # headings, quotes, lists at a line's start


def md(text: object) -> str:
    """Text for Markdown: HTML escaped (a renderer would run <script>), the punctuation Markdown
    acts on backslash-escaped, line breaks flattened (a heading or table cell is one line)."""
    flat = " ".join(str(text).split())
    out = _MD_INLINE.sub(r"\\\1", html.escape(flat, quote=False))
    def mark(m: re.Match) -> str:
        lead = m.group(2)
        return m.group(1) + (lead[:-1] + "\\" + lead[-1] if lead[0].isdigit() else "\\" + lead)

    return _MD_LINE_START.sub(mark, out)


def render_markdown(results: list[dict], title: str = "Return Home Interviews: themes recorded") -> str:
    grouped = any(r["group"] is not None for r in results)
    head = "| theme |" + (" group |" if grouped else "") + " estimate | interval | what the figure is |"
    banner = mixed_banner(results)
    lines = [f"# {md(title)}", ""] + ([f"**{md(banner)}**", ""] if banner else []) + [
        head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        d = r["display"]
        lines.append(f"| {md(r['name'])} |" + (f" {md(r['group'] or 'all')} |" if grouped else "") +
                     f" {md(d['estimate'])} | {md(interval_text(r))} | {md(kind_text(r))} |")
    lines.append("")
    for r in results:
        lines += [f"## {md(r['name'])}" + (f" ({md(r['group'])})" if r["group"] is not None else "") +
                  (" (model-only triage)" if r["model_only"] else ""), ""]
        for part in paragraph_parts(r):
            lines += [md(part), ""]
    return "\n".join(lines)


def chart_png(results: list[dict], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # titles and group names are the user's text: never mathtext ('$' would start a formula)
    with plt.rc_context({"text.parse_math": False}):
        return _chart_png(results, title, plt)


def _chart_png(results: list[dict], title: str, plt) -> bytes:

    rows = [r for r in results if r["group"] is None][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.48 * len(rows) + 1.9), dpi=120)
    colours = {"audited": "#1d4e89", "model": "#b35c00"}
    xmax = max([r["ci_high"] or 0 for r in rows] + [r["estimate"] or 0 for r in rows] + [10])
    for k, r in enumerate(rows):
        c = colours["model" if r["model_only"] else "audited"]
        if r["suppressed"]:
            why = "withheld (c)" if r.get("suppression_reason") != "small count" else f"{r['display']['estimate']} (withheld)"
            ax.text(0, k, "  " + why, va="center", fontsize=9, color="#555555")
            continue
        lo = r["ci_low"] if r["ci_low"] is not None else 0
        hi = r["ci_high"]
        ax.plot([lo, hi], [k, k], color=c, lw=2.4, solid_capstyle="butt")
        ax.plot([lo, lo], [k - 0.15, k + 0.15], color=c, lw=1.6)
        ax.plot([hi, hi], [k - 0.15, k + 0.15], color=c, lw=1.6)
        ax.plot([r["estimate"]], [k], "o" if not r["model_only"] else "D", color=c, ms=7)
        ax.text(hi + xmax * 0.015, k, f"{r['display']['estimate']} ({r['display']['ci_low']} to {r['display']['ci_high']})",
                va="center", fontsize=8.5, color="#333333")
    ax.set_yticks(range(len(rows)), [r["name"] + (" (model only)" if r["model_only"] else "") for r in rows],
                  fontsize=9.5)
    ax.set_xlim(0, xmax * 1.28)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    unit = rows[0]["unit"] if rows else "RHIs"
    ax.set_xlabel(f"Estimated number of {unit}", fontsize=9.5)
    ax.grid(axis="x", color="#dddddd", lw=0.8)
    ax.set_axisbelow(True)
    for s in ("top", "right", "left"):
        ax.spines[s].set_visible(False)
    from matplotlib.lines import Line2D

    handles = []
    if any(not r["model_only"] for r in rows):
        conf = round(rows[0]["confidence"] * 100)
        handles.append(Line2D([], [], color=colours["audited"], marker="o", lw=2.4,
                              label=f"audited estimate, {conf}% confidence interval"))
    if any(r["model_only"] for r in rows):
        handles.append(Line2D([], [], color=colours["model"], marker="D", lw=2.4,
                              label="model-only triage, model-based range (not audited, not for publication)"))
    # below the axis, so it never covers a bar
    axis_points = (0.48 * len(rows) + 0.6) * 72  # about the axis height, to put the legend 48 points below it
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -48 / axis_points),
              fontsize=8.5, frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.text(0.01, 0.005, "Source: RHI narratives, tagged by rhi-nlp; audited estimates combine hand labels "
             "with model probabilities.", fontsize=7.5, color="#666666")
    if rows:
        ax.set_title(f"{rows[0]['display']['denominator']} {unit} with a recorded narrative; period: {rows[0]['period']}.\n"
                     f"Figures rounded to the nearest {rows[0]['disclosure']['rounding_base']}; interval limits rounded "
                     f"outwards; below {rows[0]['disclosure']['threshold']} withheld.",
                     loc="left", fontsize=8.5, color="#444444")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return buf.getvalue()


def render_html(results: list[dict], title: str, png: bytes) -> str:
    esc = html.escape
    img = base64.b64encode(png).decode("ascii")
    grouped = any(r["group"] is not None for r in results)
    rows = "".join(
        f"<tr{' class=triage' if r['model_only'] else ''}><td>{esc(r['name'])}</td>" +
        (f"<td>{esc(r['group'] or 'all')}</td>" if grouped else "") +
        f"<td class=n>{esc(r['display']['estimate'])}</td>"
        f"<td class=n>{esc(interval_text(r))}</td><td>{esc(kind_text(r))}</td></tr>" for r in results)
    paras = "".join(
        f"<section{' class=triage' if r['model_only'] else ''}><h2>{esc(r['name'])}"
        f"{' (' + esc(r['group']) + ')' if r['group'] is not None else ''}"
        f"{' <span class=tag>model-only triage</span>' if r['model_only'] else ''}</h2>"
        + "".join(f"<p>{esc(p)}</p>" for p in paragraph_parts(r)) + "</section>" for r in results)
    banner = mixed_banner(results)
    banner_html = f'<p class="banner">{esc(banner)}</p>' if banner else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; max-width: 60rem; margin: 2rem auto; color: #0b0c0c; line-height: 1.45; padding: 0 1rem; }}
h1 {{ font-size: 1.7rem; border-bottom: 4px solid #1d4e89; padding-bottom: .4rem; }}
h2 {{ font-size: 1.15rem; margin-top: 1.6rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .95rem; }}
th, td {{ border-bottom: 1px solid #b1b4b6; padding: .45rem .5rem; text-align: left; }}
th {{ background: #f3f2f1; }} td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; margin: 1rem 0; }} .note {{ color: #505a5f; font-size: .9rem; }}
tr.triage td {{ font-style: italic; background: #fff4e5; }}
section.triage {{ border-left: 6px dashed #b35c00; padding-left: 1rem; background: #fffaf3; }}
.tag {{ font-size: .8rem; font-style: normal; background: #b35c00; color: #fff; padding: .1rem .4rem; border-radius: 3px; }}
.banner {{ border: 2px solid #b35c00; padding: .6rem .8rem; font-weight: bold; }}
</style></head><body>
<h1>{esc(title)}</h1>
{banner_html}
<img src="data:image/png;base64,{img}" alt="Chart of estimated counts per theme with interval bars">
<table><thead><tr><th>Theme</th>{'<th>Group</th>' if grouped else ''}<th>Estimate</th><th>Interval</th><th>What the figure is</th></tr></thead>
<tbody>{rows}</tbody></table>
{paras}
<p class="note">Produced with rhi-nlp on the council's own machine; no narrative text is included in this report.</p>
</body></html>
"""


def write_report(results: list[dict], out_dir: str | Path, title: str) -> dict:
    """Write report.md, report.html, chart.png and estimates.json into out_dir (each atomically)."""
    from .errors import InputError
    from .files import write_bytes

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{out_dir}: is a file; -o names the folder for the report") from None
    except PermissionError:
        raise InputError(f"{out_dir}: permission denied: cannot create the report folder") from None
    png = chart_png(results, title)
    files = {"report.md": render_markdown(results, title).encode("utf-8"),
             "report.html": render_html(results, title, png).encode("utf-8"),
             "chart.png": png,
             "estimates.json": (json.dumps({"title": title, "themes": _themes_obj(results)}, indent=2) + "\n").encode("utf-8")}
    for name, data in files.items():
        write_bytes(out_dir / name, data)
    return {name: str(out_dir / name) for name in files}


def _themes_obj(results: list[dict]) -> dict:
    out: dict = {}
    for r in results:
        if r["group"] is None:
            out[r["theme"]] = {**r, "groups": {}}
    for r in results:
        if r["group"] is not None:
            out.setdefault(r["theme"], {"groups": {}})["groups"][r["group"]] = r
    return out


def render_json(results: list[dict]) -> str:
    return json.dumps({"themes": _themes_obj(results)}, indent=2)
