"""The ``rhi-nlp`` command line: parse options, call one library function, render the result."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import RhiNlpError


def _interactive() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def progressbar(length: int | None, label: str, silent: bool = False):
    """A click progress bar on a terminal; silent for pipes, CI and tests."""
    if silent or not _interactive():
        yield lambda n: None
        return
    if length is None:  # unknown length: a running count instead of a bar
        done = [0]

        def update(n: int) -> None:
            done[0] += n
            click.echo(f"\r{label}: {done[0]:,} rows", nl=False, err=True)

        yield update
        click.echo("", err=True)
        return
    import time

    start = time.monotonic()
    done = [0]

    def rate(_item) -> str:  # rows a second (the bar shows the time left)
        elapsed = time.monotonic() - start
        return f"{done[0] / elapsed:,.0f} rows/s" if elapsed > 1 and done[0] else ""

    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True, show_eta=True,
                           item_show_func=rate) as bar:
        def update(n: int) -> None:
            done[0] += n
            bar.update(n, current_item=done[0])

        yield update


def _run(fn, *args, **kwargs):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn(*args, **kwargs)
        for w in caught:
            if issubclass(w.category, UserWarning):
                click.echo(f"Warning: {w.message}", err=True)
        return result
    except RhiNlpError as exc:
        raise click.ClickException(str(exc)) from None
    except (click.ClickException, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:
        # An unforeseen failure: its message may quote data, so only its kind is shown.
        if os.environ.get("RHI_NLP_DEBUG"):
            raise
        raise click.ClickException(
            f"unexpected {type(exc).__name__} inside rhi-nlp; no output was written. Please report the "
            f"command you ran (not the data); set RHI_NLP_DEBUG=1 to see the details") from None


def _load_model(model_dir: str | None):
    from .paths import default_model_dir, find_model, training_dir
    from .persistence import load_model
    from .training import train_model

    if model_dir:
        return _run(load_model, Path(model_dir))
    path = find_model("default")
    if path is None:
        path = default_model_dir()
        if not (training_dir() / "corpus.csv").exists():
            raise click.ClickException(f"no model found (looked in {path.parent} and the package); name one with "
                                       f"--model, or reinstall rhi-nlp, whose package carries the release model")
        click.echo(f"No default model yet: training one from {training_dir()} into {path} "
                   f"(a few minutes) ...", err=True)
        _run(train_model, name="default")
    return _run(load_model, path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rhi-nlp")
def cli():
    """rhi-nlp: tag Return Home Interview narratives with themes and estimate counts with
    honest intervals for FOI answers. Everything runs on this machine; no narrative text is
    written to logs or error messages."""


@cli.command()
@click.argument("input_path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="Output file: .csv, .xlsx or .parquet (by extension); a name without an extension, or an "
                   "empty folder, is written as a folder of Parquet files.")
@click.option("--text-col", default="narrative", show_default=True, help="Column holding the narrative.")
@click.option("--id-col", default="id", show_default=True, help="Column holding a unique id per row.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model folder (default: the default model; see rhi-nlp models).")
@click.option("--encoding", default=None,
              help="CSV encoding (default: UTF-8, with stray Windows-1252 bytes read as such; UTF-16 with a BOM).")
@click.option("--sheet", default=None, help="Excel sheet holding the narratives (needed when there are several).")
@click.option("--excel-safe", is_flag=True,
              help="CSV output for Excel: cells starting with = + - @ (formulas) get a leading apostrophe.")
@click.option("--chunk-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows processed at a time (memory does not grow with the file).")
@click.option("--workers", default=None, type=click.IntRange(1, 256),
              help="Processes tagging at once (default: all cores; output identical to one).")
@click.option("--resume", is_flag=True,
              help="Keep finished chunks beside the output, so a killed run started again with --resume "
                   "continues from the last finished chunk.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: tag a Parquet dataset partition by partition on a Dask cluster (pip install 'rhi-nlp[dask]').")
@click.option("--scheduler", default=None, help="With --engine dask: a running scheduler's address "
                                                  "(default: a local cluster, one worker per core).")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def tag(input_path, output, text_col, id_col, model_dir, encoding, sheet, excel_safe, chunk_size, workers, resume,
        engine, scheduler, quiet):
    """Tag every narrative in INPUT_PATH (CSV, Excel or Parquet export, or a folder of Parquet
    files) with themes.

    The output keeps the input's columns and adds, for every theme T: T (0/1), T_prob (0-1)
    and T_evidence (the supporting sentence, or empty), plus narrative_status
    (recorded / declined / empty) and text_familiarity (how like the training data the wording is)."""
    from .parallel import default_workers
    from .tagging import count_rows, tag_file

    model = _load_model(model_dir)
    if engine == "dask":
        if resume or excel_safe or sheet:
            raise click.ClickException("--engine dask reads and writes Parquet: --resume, --excel-safe and --sheet "
                                       "do not apply")
        from .dask_engine import tag_dataset

        n = _run(tag_dataset, input_path, output, model.path, id_col=id_col, text_col=text_col,
                 scheduler=scheduler, workers=workers)
        if not quiet:
            click.echo(f"Tagged {n} narratives on Dask -> {output} (a folder of Parquet files)")
        return
    n_rows = count_rows(input_path, encoding, sheet)
    if workers is None:  # all cores, unless the file is a chunk or two
        workers = default_workers() if n_rows is None or n_rows > 2 * chunk_size else 1
    with progressbar(n_rows, "Tagging", silent=quiet) as update:
        summary = _run(tag_file, input_path, output, model, id_col=id_col, text_col=text_col,
                       encoding=encoding, chunk_size=chunk_size, sheet=sheet, excel_safe=excel_safe,
                       workers=workers, resume=resume, progress=update)
    for note in summary.notes:
        click.echo(f"Note: {note}", err=True)
    if quiet:
        return
    click.echo(f"Tagged {summary.n_rows} narratives -> {output}")
    click.echo(f"Not recorded: {summary.n_empty} empty or whitespace, {summary.n_declined} declined "
               f"(tagged as no theme)")
    click.echo(f"{'theme':<24}{'flagged':>8}{'sum of prob.':>14}")
    for t, n in summary.counts.items():
        click.echo(f"{t:<24}{n:>8}{summary.expected[t]:>14.1f}")
    click.echo("Counts are model output; for a published figure use 'rhi-nlp estimate' with an audit sample.")


@cli.command()
@click.option("--labels", "label_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Extra labelled file(s): id, narrative, one 0/1 column per theme. Repeatable.")
@click.option("--name", default="default", show_default=True,
              help="Model name: saved to models/NAME in the rhi-nlp home (see 'rhi-nlp models').")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed (training is deterministic).")
def train(label_files, name, seed):
    """Train a model from the base training corpus plus any extra labelled files, evaluate it on the
    held-out split and save it with a model card (in the per-user folder when rhi-nlp is installed
    from a wheel). If a model of that name exists, show how the new one
    compares."""
    from .paths import models_dir
    from .persistence import load_model

    from .persistence import has_model

    old = None
    if has_model(models_dir() / name):
        with contextlib.suppress(RhiNlpError):
            old = load_model(models_dir() / name)
    with progressbar(13, "Training") as update:
        from .training import train_model

        model = _run(train_model, label_files=label_files, name=name, seed=seed, progress=update)
    ev = model.card.get("heldout")
    click.echo(f"Saved model '{name}' to {model.path} ({model.card['n_training']} labelled narratives).")
    if ev:
        click.echo(f"Macro-F1 on the generator's held-out split: {ev['macro_f1']:.3f} ({ev['n']} narratives; optimistic, "
                   f"not a quality figure: run make bench for leave-one-voice-out figures).")
        old_ev = (old.card.get("heldout") or {}) if old else {}
        click.echo(f"{'theme':<24}{'F1':>7}" + (f"{'previous':>10}" if old_ev else ""))
        for t, m in ev["themes"].items():
            prev = old_ev.get("themes", {}).get(t, {}).get("f1") if old_ev else None
            click.echo(f"{t:<24}{m['f1']:>7.3f}" + (f"{prev:>10.3f}" if prev is not None else ""))
    click.echo(f"Model card: {model.path / 'model_card.md'}")


@cli.command("models")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def models_cmd(fmt):
    """List the models on this machine with their card's key figures, and which is the default."""
    from .catalogue import list_models
    from .paths import models_dir

    entries = _run(list_models)
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo(f"No models yet. Train one with: rhi-nlp train (saved under {models_dir()})")
        return
    click.echo(f"{'':2}{'name':<26}{'created (UTC)':<22}{'trained on':>11}{'voice-out F1':>14}{'locked F1':>11}  where")
    for e in entries:
        f1 = e.get("leave_one_voice_out_macro_f1")
        locked = e.get("locked_macro_f1")
        click.echo(f"{'* ' if e['default'] else '  '}{e['name']:<26}{(e.get('created_utc') or '-'):<22}"
                   f"{e.get('n_training') or '-':>11}{(f'{f1:.3f}' if f1 is not None else '-'):>14}"
                   f"{(f'{locked:.3f}' if locked is not None else '-'):>11}  {e['path']}"
                   + (f"  ({e['problem']})" if e.get("problem") else ""))
    click.echo("* = the default model (used when --model is not given). F1 figures are on writing the model "
               "never learned from; '-' = not measured for that model.")


@cli.command()
@click.argument("labelled", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model folder (default: the default model; see rhi-nlp models).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--baseline", is_flag=True, help="Also score the keyword baseline (Excel-style search).")
def evaluate(labelled, model_dir, fmt, baseline):
    """Score a model on a LABELLED file: per-theme precision, recall, F1, Brier score and
    calibration error, and macro-F1."""
    from .themes import load_themes
    from .training import baseline_metrics, evaluate_model

    model = _load_model(model_dir)
    result = _run(evaluate_model, model, labelled)
    if baseline:
        result["keyword_baseline"] = _run(baseline_metrics, labelled, load_themes())
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{labelled}: {result['n']} labelled narratives; macro-F1 {result['macro_f1']:.3f}")
    head = (f"{'theme':<24}{'prec.':>7}{'recall':>8}{'F1':>7}{'Brier':>7}{'cal.err':>8}{'pos.':>6}"
            f"{'count ratio':>12}")
    click.echo(head + (f"{'kw F1':>8}" if baseline else ""))
    for t, m in result["themes"].items():
        ratio = f"{m['count_ratio']:.2f}" if m["count_ratio"] is not None else "-"
        line = (f"{t:<24}{m['precision']:>7.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{m['brier']:>7.3f}"
                f"{m['calibration_error']:>8.3f}{m['support']:>6}{ratio:>12}")
        if baseline:
            line += f"{result['keyword_baseline']['themes'][t]['f1']:>8.3f}"
        click.echo(line)
    if baseline:
        click.echo(f"Keyword baseline macro-F1: {result['keyword_baseline']['macro_f1']:.3f}")
    click.echo("count ratio = model-only count (sum of probabilities) / true count; 1.00 is exact.")
    click.echo("Calibration (all themes pooled):")
    click.echo(f"  {'band':<10}{'n':>7}{'predicted':>11}{'observed':>10}")
    for row in result["calibration"]:
        click.echo(f"  {row['band']:<10}{row['n']:>7}{row['mean_predicted']:>11.3f}{row['observed_rate']:>10.3f}")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def themes(fmt):
    """List the themes with their definitions."""
    from .themes import load_themes

    items = _run(load_themes)
    if fmt == "json":
        click.echo(json.dumps([t.to_dict() for t in items], indent=1))
        return
    for t in items:
        click.echo(f"{t.id}  ({t.name})")
        click.echo(f"    {t.definition}")
        if t.exclude:
            click.echo(f"    Not this theme: {t.exclude}")
        for c in t.clarifications:
            click.echo(f"    - {c}")


def _parse_date(value: str | None, flag: str, date_format: str | None = None):
    from .dates import parse_date_option

    return _run(parse_date_option, value, flag, date_format)


def _estimate_options(f):
    options = [
        click.option("--audit", "audit_path", type=click.Path(exists=True, path_type=Path), multiple=True,
                     help="Hand-labelled audit sample (from rhi-nlp sample). Without it: model-only range. For a "
                          "pooled file: the folder of audits from rhi-nlp sample --by (or each file, repeated)."),
        click.option("--theme", "themes_", multiple=True,
                     help="Theme id (repeatable); union themes such as any_family_conflict too. Default: all."),
        click.option("--confidence", default=0.95, show_default=True, type=float, help="Confidence level."),
        click.option("--from", "date_from", default=None, help="First date of the period (YYYY-MM-DD)."),
        click.option("--to", "date_to", default=None, help="Last date of the period (YYYY-MM-DD)."),
        click.option("--date-col", default=None, help="Column holding the date that defines the period."),
        click.option("--date-format", default=None,
                     help="Format of the dates (e.g. %d/%m/%Y) when the column does not show it unambiguously; "
                          "default: YYYY-MM-DD, or DD/MM/YYYY where some day is above 12."),
        click.option("--by", default=None, help="Also estimate per value of this column (e.g. setting)."),
        click.option("--unit", type=click.Choice(["rhi", "child"]), default="rhi", show_default=True,
                     help="Count RHIs, or children with at least one such RHI."),
        click.option("--child-col", default=None, help="Column holding the child id (for --unit child)."),
        click.option("--id-col", default="id", show_default=True, help="Column holding the RHI id."),
        click.option("--text-col", default="narrative", show_default=True,
                     help="Column holding the narrative (for the model-only keyword check)."),
        click.option("--model", "model_dir", default=None, type=click.Path(file_okay=False),
                     help="Model whose calibration data gives the model-only range (default: the default model)."),
        click.option("--suppress-below", default=5, show_default=True, type=click.IntRange(0, 100),
                     help="Disclosure threshold: smaller figures are shown as 'fewer than N'."),
        click.option("--round-to", default=5, show_default=True, type=click.IntRange(1, 100),
                     help="Rounding base for published figures (10 is used above 1,000)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _estimate_rows(tagged, audit_path, themes_, confidence, date_from, date_to, date_col, date_format, by, unit,
                   child_col, id_col, text_col, model_dir, suppress_below, round_to):
    from .disclosure import DisclosureRule
    from .foi import Period, estimate_themes, result_to_dict, secondary_suppression

    period = Period(date_col=date_col, start=_parse_date(date_from, "--from", date_format),
                    end=_parse_date(date_to, "--to", date_format), date_format=date_format)
    results = _run(estimate_themes, tagged, themes=list(themes_) or None, audit_path=list(audit_path) or None,
                   confidence=confidence, period=period, by=by, unit=unit, child_col=child_col, id_col=id_col,
                   model_dir=model_dir, text_col=text_col)
    rule = DisclosureRule(threshold=suppress_below, base=round_to, base_large=max(10, round_to))
    rows = [result_to_dict(r, rule) for r in results]
    secondary_suppression(rows)
    return rows


@cli.command()
@click.argument("tagged", type=click.Path(path_type=Path))
@click.option("--size", required=True, type=int, help="Number of units to audit (RHIs, or children with --unit child).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Audit file to write (.csv or .xlsx): label its empty theme columns 0 or 1. With --by: a new "
                   "folder for one audit file per group.")
@click.option("--purpose", type=click.Choice(["audit", "training"]), default="audit", show_default=True,
              help="audit: a sample for an estimate; training: narratives to label to improve the model (not an audit).")
@click.option("--design", type=click.Choice(["random", "stratified", "uncertain"]), default=None,
              help="Audit: random (default) or stratified (by the theme's probability, Neyman allocation). "
                   "Training: uncertain (default; where the model is least sure, plus a fifth at random).")
@click.option("--theme", default=None, help="Only label this theme (needed for --design stratified).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed: the same seed gives the same sample.")
@click.option("--id-col", default="id", show_default=True)
@click.option("--text-col", default="narrative", show_default=True)
@click.option("--unit", type=click.Choice(["rhi", "child"]), default="rhi", show_default=True,
              help="Sample RHIs, or children (all RHIs of each sampled child).")
@click.option("--child-col", default=None, help="Column holding the child id (for --unit child).")
@click.option("--labels-from", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A labelled earlier audit (e.g. the pilot): its labels are copied for rows drawn again. "
                   "A random sample with the same seed and a larger size contains the smaller one.")
@click.option("--by", default=None,
              help="One random audit per value of this column (e.g. council), each in its own file in the "
                   "folder -o, of --size narratives (all of a smaller group): each group labels only its own.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True,
              help="With --by: the audit files' format.")
def sample(tagged, size, output, purpose, design, theme, seed, id_col, text_col, unit, child_col, labels_from, by, fmt):
    """Draw a reproducible sample from a TAGGED file for hand labelling (rhi-nlp label FILE).

    Only narratives with a recorded text are drawn. An audit holds the id, the narrative, one
    empty column per theme to fill with 0 or 1 and its design, so the estimate can be computed
    from it; model scores are not shown, so they cannot sway the labeller. A training sample
    (--purpose training) picks the narratives whose labels would teach the model most; it is
    marked as such and cannot serve as an audit."""
    from .foi import draw_sample

    if purpose == "training":
        if design not in (None, "uncertain") or unit != "rhi" or labels_from or theme:
            raise click.ClickException("--purpose training takes --design uncertain only (no --theme, --unit "
                                       "child or --labels-from)")
        from .active import draw_training_sample

        info = _run(draw_training_sample, tagged, output, size=size, seed=seed, id_col=id_col, text_col=text_col)
        click.echo(f"Drew a training sample of {info['rows']} of {info['population']} recorded narratives "
                   f"({info['uncertain']} where the model is least sure, {info['random']} at random) -> {output}")
        click.echo(f"Label it with: rhi-nlp label {output}; then retrain: rhi-nlp train --labels {output} --name NAME. "
                   f"It is not an audit: it cannot give an estimate.")
        return
    if design == "uncertain":
        raise click.ClickException("--design uncertain is for --purpose training; an audit is random or stratified")
    design = design or "random"
    if by:
        if design != "random" or unit != "rhi" or labels_from or theme:
            raise click.ClickException("--by draws a random sample of RHIs per group: no --design stratified, "
                                       "--unit child, --theme or --labels-from")
        _sample_by(tagged, output, by=by, size=size, seed=seed, id_col=id_col, text_col=text_col, fmt=fmt)
        return

    info = _run(draw_sample, tagged, output, size=size, design=design, theme=theme, seed=seed, id_col=id_col,
                text_col=text_col, unit=unit, child_col=child_col, labels_from=labels_from)
    what = "children" if unit == "child" else "narratives"
    click.echo(f"Drew a {info['design']} sample of {info['units']} of {info['population']} recorded {what} "
               f"({info['rows']} rows) -> {output}")
    if labels_from:
        click.echo(f"Copied labels for {info['carried_labels']} rows already labelled in {labels_from}.")
    if info["truncated_cells"]:
        click.echo(f"Note: {info['truncated_cells']} narrative(s) longer than Excel's 32,767-character cell limit "
                   f"were cut in {output}; draw the sample to .csv to keep them whole.", err=True)
    click.echo(f"Label the columns {', '.join(info['label_columns'][:4])}{' ...' if len(info['label_columns']) > 4 else ''} "
               f"with 0 or 1 for every row, by the rule in 'rhi-nlp themes', then run rhi-nlp estimate --audit {output}.")


def _sample_by(tagged, output, *, by, size, seed, id_col, text_col, fmt):
    from .pooled import draw_group_samples

    info = _run(draw_group_samples, tagged, output, by=by, size=size, seed=seed, id_col=id_col, text_col=text_col,
                suffix="." + fmt)
    groups = info["groups"]
    census = sum(g["census"] for g in groups)
    click.echo(f"Drew one random audit per {by} ({len(groups)} groups, {sum(g['units'] for g in groups)} narratives"
               f"{f'; {census} group(s) no larger than {size} in full' if census else ''}) -> {output}")
    click.echo(f"Each group labels its own file (rhi-nlp label FILE), then: rhi-nlp estimate TAGGED --audit {output} "
               f"--by {by}")


@cli.command()
@click.argument("tagged", type=click.Path(path_type=Path))
@click.option("--half-width", required=True, type=click.FloatRange(min=0.5),
              help="Wanted half-width of the interval, as a count (e.g. 20 for +/- 20 RHIs).")
@click.option("--theme", default="parental_conflict", show_default=True)
@click.option("--confidence", default=0.95, show_default=True, type=float)
@click.option("--pilot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A labelled random pilot audit: its residuals replace the model's assumption.")
@click.option("--id-col", default="id", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def plan(tagged, half_width, theme, confidence, pilot, id_col, fmt):
    """How many audit labels are needed for an interval of +/- HALF-WIDTH on a theme's count."""
    from .foi import plan as plan_fn

    p = _run(plan_fn, tagged, half_width=half_width, theme=theme, confidence=confidence, id_col=id_col, pilot=pilot)
    if fmt == "json":
        click.echo(json.dumps(p, indent=2))
        return
    click.echo(f"{p['name']}: {p['N']} recorded narratives; model prevalence {p['model_prevalence']:.1%}.")
    click.echo(f"Labels needed for a {p['confidence']:.0%} interval of +/- {p['half_width']:g}:")
    click.echo(f"  labels only (no model):                  {p['labels_only']}")
    click.echo(f"  random audit + model (difference est.):  {p['model_assisted']}   (S_e {p['S_e']} from {p['S_e_source']})")
    click.echo(f"  the same, allowing for miscalibration:   {p['model_assisted_cautious']}")
    click.echo(f"  stratified by score (Neyman):            {p['stratified_neyman']}")
    click.echo(p["note"])


@cli.command()
@click.argument("tagged", type=click.Path(path_type=Path))
@_estimate_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def estimate(tagged, audit_path, themes_, confidence, date_from, date_to, date_col, date_format, by, unit, child_col,
             id_col, text_col, model_dir, suppress_below, round_to, fmt):
    """Estimated count and share per theme in a TAGGED file, with an interval.

    With --audit (a labelled sample from rhi-nlp sample) the interval is a confidence interval
    valid for this finite set of interviews. Without it, the figure is model-only: triage, not for
    publication, with a model-based range that allows for writing unlike the training data and
    checks that say when to audit before using it. Small figures are suppressed and figures
    rounded as official statistics do."""
    from .report import render_json, render_markdown, render_text

    rows = _estimate_rows(tagged, audit_path, themes_, confidence, date_from, date_to, date_col, date_format, by,
                          unit, child_col, id_col, text_col, model_dir, suppress_below, round_to)
    click.echo({"json": render_json, "markdown": render_markdown, "text": render_text}[fmt](rows), nl=False)


@cli.command()
@click.argument("tagged", type=click.Path(path_type=Path))
@_estimate_options
@click.option("-o", "--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.md, report.html, chart.png and estimates.json.")
@click.option("--title", default="Return Home Interviews: themes recorded in the narratives", show_default=True)
def report(tagged, audit_path, themes_, confidence, date_from, date_to, date_col, date_format, by, unit, child_col,
           id_col, text_col, model_dir, suppress_below, round_to, output_dir, title):
    """Write an FOI-ready report: a paragraph per theme (definition, what was counted, method and
    limits in plain English) as Markdown and HTML, a PNG chart and the JSON figures."""
    from .report import write_report

    rows = _estimate_rows(tagged, audit_path, themes_, confidence, date_from, date_to, date_col, date_format, by,
                          unit, child_col, id_col, text_col, model_dir, suppress_below, round_to)
    files = _run(write_report, rows, output_dir, title)
    for path in files.values():
        click.echo(f"Wrote {path}")


@cli.command()
@click.argument("model_a")
@click.argument("model_b")
@click.option("--labels", "labelled", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A labelled file neither model learned from.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def compare(model_a, model_b, labelled, fmt):
    """Compare MODEL_A and MODEL_B (names or folders) on a labelled file: per-theme F1, count ratio
    and calibration error side by side, and a paired bootstrap interval for the difference in
    macro-F1 (B minus A)."""
    from .compare import compare_models
    from .lifecycle import resolve
    from .persistence import load_model

    a = _run(load_model, _run(resolve, model_a))
    b = _run(load_model, _run(resolve, model_b))
    r = _run(compare_models, a, b, labelled)
    if fmt == "json":
        click.echo(json.dumps(r, indent=2))
        return
    ma, mb = r["models"]["a"], r["models"]["b"]
    click.echo(f"{labelled.name}: {r['n']} labelled narratives. A = {model_a}, B = {model_b}.")
    click.echo(f"{'theme':<24}{'F1 A':>7}{'F1 B':>7}{'ratio A':>9}{'ratio B':>9}{'cal.err A':>11}{'cal.err B':>11}")
    for t in ma["themes"]:
        x, y = ma["themes"][t], mb["themes"][t]
        ratio = (lambda v: f"{v:.2f}" if v is not None else "-")
        click.echo(f"{t:<24}{x['f1']:>7.3f}{y['f1']:>7.3f}{ratio(x['count_ratio']):>9}{ratio(y['count_ratio']):>9}"
                   f"{x['calibration_error']:>11.3f}{y['calibration_error']:>11.3f}")
    d = r["macro_f1_difference"]
    click.echo(f"Macro-F1: A {ma['macro_f1']:.3f}, B {mb['macro_f1']:.3f}; B - A = {d['b_minus_a']:+.3f} "
               f"({d['confidence']:.0%} paired bootstrap interval {d['low']:+.3f} to {d['high']:+.3f}).")
    if d["low"] > 0:
        click.echo("B is better on this file (the interval is above 0).")
    elif d["high"] < 0:
        click.echo("B is worse on this file (the interval is below 0).")
    else:
        click.echo("No clear difference on this file (the interval includes 0).")


@cli.command()
@click.argument("name")
def promote(name):
    """Make the model NAME the default (the previous default is kept for rhi-nlp rollback)."""
    from .lifecycle import promote as promote_fn

    r = _run(promote_fn, name)
    click.echo(f"{name} is now the default model ({r['default']}).")
    if r["previous"]:
        click.echo(f"The previous default is kept at {r['previous']}; undo with: rhi-nlp rollback")


@cli.command()
def rollback():
    """Make the previous default model the default again (and keep the current one as previous)."""
    from .lifecycle import rollback as rollback_fn

    r = _run(rollback_fn)
    click.echo(f"The default model is now {r['default']}.")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--labeller", default="main", show_default=True,
              help="Your name: each labeller's labels are kept apart, and a second labeller does not see the first's.")
@click.option("--adjudicate", is_flag=True, help="Settle the narratives two labellers disagree on (both labels shown).")
@click.option("--id-col", default=None, help="Id column (default: 'id', else the first column).")
@click.option("--text-col", default="narrative", show_default=True)
@click.option("--model", "model_dir", default=None, type=click.Path(file_okay=False),
              help="Model whose guess a training file shows (never shown for an audit).")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening the browser.")
def label(path, labeller, adjudicate, id_col, text_col, model_dir, port, no_browser):
    """Label the narratives of PATH (an audit sample, or any labelled/training file) in the browser.

    Serves a page on 127.0.0.1 only, with a random token in the address. Every decision is saved
    at once to PATH.journal.jsonl beside the file, and PATH is rewritten from it: stopping the
    server or closing the laptop loses nothing, and running label again resumes where you stopped.
    An audit shows no model output; a training file shows the model's guess and cue phrases."""
    from .labels import ADJUDICATOR, exclusive

    if labeller == ADJUDICATOR:
        raise click.ClickException(f"'{ADJUDICATOR}' is reserved: use --adjudicate")
    if not path.is_file():
        raise click.ClickException(f"{path}: file not found")
    try:
        with exclusive(path):  # errors inside _label are ClickExceptions already; this one is the lock's
            _label(path, labeller, adjudicate, id_col, text_col, model_dir, port, no_browser)
    except RhiNlpError as exc:
        raise click.ClickException(str(exc)) from None


def _label(path, labeller, adjudicate, id_col, text_col, model_dir, port, no_browser):
    from .labels import ADJUDICATOR, LabelFile
    from .workbench import serve

    lf = _run(LabelFile, path, id_col=id_col, text_col=text_col)
    mode = "adjudicate" if adjudicate else ("audit" if lf.is_audit else "training")
    model = None
    if mode == "training":
        model = _load_model(model_dir)
    p = lf.progress(ADJUDICATOR if adjudicate else labeller)
    click.echo(f"Labelling {path.name}: {p['total']} narratives, {p['done']} done by {labeller}; mode: {mode}.")
    click.echo(f"Every decision is saved at once to {lf.journal.path.name}; press Ctrl-C to stop.")
    try:
        serve(lf, labeller=labeller, mode=mode, model=model, port=port, open_browser=not no_browser,
              announce=lambda url: click.echo(f"Open: {url}", nl=True))
    except KeyboardInterrupt:
        pass
    p = lf.progress(ADJUDICATOR if adjudicate else labeller)
    click.echo(f"Stopped. {p['done']} of {p['total']} done; {path} is up to date.")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id-col", default=None, help="Id column (default: 'id', else the first column).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def agreement(path, id_col, fmt):
    """Agreement between the two labellers of PATH: per theme, the share agreed and Cohen's kappa,
    and the narratives to adjudicate (ids only)."""
    from .agreement import agreement as agreement_fn

    a = _run(agreement_fn, path, id_col=id_col)
    if fmt == "json":
        click.echo(json.dumps(a, indent=2))
        return
    click.echo(f"{path.name}: labellers {a['labellers'][0]} and {a['labellers'][1]}; {a['double_labelled']} of "
               f"{a['n_rows']} narratives finished by both ({a['double_labelled_share']:.0%}).")
    click.echo(f"{'theme':<24}{'agree':>7}{'kappa':>7}  positives")
    for t, m in a["themes"].items():
        agree = f"{m['agreement']:.0%}" if m["agreement"] is not None else "-"
        kappa = f"{m['kappa']:.2f}" if m["kappa"] is not None else "-"
        click.echo(f"{t:<24}{agree:>7}{kappa:>7}  {m['positives'][0]} / {m['positives'][1]}")
    click.echo(f"{len(a['disagreements'])} narratives with a disagreement, {a['unadjudicated']} not yet adjudicated"
               + (":" if a["disagreements"] else "."))
    for d in a["disagreements"]:
        click.echo(f"  {d['id']}: {', '.join(d['themes'])}{' (adjudicated)' if d['adjudicated'] else ''}")
    if a["unadjudicated"]:
        click.echo(f"Settle them with: rhi-nlp label {path.name} --adjudicate (estimate uses the adjudicated labels).")


def main() -> None:
    from .files import exit_cleanly_on_signals

    exit_cleanly_on_signals()  # a closed terminal or a kill removes half-written files
    cli(prog_name="rhi-nlp")
