"""The ``segkit`` command.

Examples
--------
::

    segkit validate data/sample                     # summary + rejected rows as CSV
    segkit snapshot --data data/sample --as-of 2026-09-30 --out snapshot.csv
    segkit tiers --as-of 2026-09-30 --data data/sample --out tiers.xlsx
    segkit tiers --table data/handbook/客户关系划分模板.csv --out 客户关系划分.csv
    segkit sample --out data/sample --seed 20260930
    segkit report quarterly --quarter 2026Q3 --lang zh,en
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from segkit._version import __version__
from segkit.periods import latest_complete_quarter, parse_date, parse_quarter, quarter_end

__all__ = ["main", "latest_complete_quarter", "quarter_end"]


def _print_validation(ds, stream=None) -> None:
    stream = stream or sys.stdout
    summary = ds.summary()
    print(f"segkit {__version__} — {ds.name} (as of {ds.as_of.date()})", file=stream)
    for note in ds.notes():
        print(f"  {note}", file=stream)
    print("\nRows per table (read = accepted + rejected):", file=stream)
    print(summary["tables"].to_string(), file=stream)
    for title, key in (("Rejected rows by rule", "rejected_by_rule"), ("Warnings by rule (rows kept)", "warnings_by_rule")):
        frame = summary[key]
        print(f"\n{title}:", file=stream)
        print(frame.to_string(index=False) if len(frame) else "  none", file=stream)


def _cmd_validate(args: argparse.Namespace) -> int:
    from segkit.writers import write_table
    from segkit.io import MostlyRejectedError, load_dataset

    stop = None
    try:
        ds = load_dataset(args.path, as_of=args.as_of, config=args.config, engine=args.engine)
    except MostlyRejectedError as exc:  # still write the ledger: it is what the user needs to fix the file
        ds, stop = exc.dataset, exc
    _print_validation(ds)
    out = Path(args.rejected)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.write_rejected(out)  # an engine-loaded data set writes it from the engine
    if args.warnings:
        write_table(ds.warnings, Path(args.warnings))
    print(f"\nRejected rows written to {out}")
    if stop is not None:
        print(f"segkit: error: {stop}", file=sys.stderr)
        return 2
    return 0


def _cmd_snapshot(args: argparse.Namespace) -> int:
    from segkit.writers import check_output_file, write_table
    from segkit.features import checked_snapshot
    from segkit.io import load_dataset

    check_output_file(args.out)  # arguments first: nothing is read before they are known to work
    if args.as_of is not None:
        parse_date(args.as_of, "--as-of")
    ds = load_dataset(args.data, engine=args.engine)  # stops when one rule rejects too much of a table
    snap = checked_snapshot(ds, args.as_of, btyd_unit=args.unit)
    write_table(snap.reset_index(), Path(args.out))
    print(f"{len(snap):,} customers as of {snap.attrs['as_of'].date()} written to {args.out}")
    return 0


def _print_tier_health(tiers, lang: str, config, file=None, *, found: dict | None = None) -> None:
    """How the tier lines were set, and the tier-health warning if any (words from the YAML);
    from ``tiers``, or from what a report's kernel ``found`` (``health``, ``describe``)."""
    from segkit.segment.thresholds import tier_health_messages

    if found is not None:
        described, health = found.get("describe", {}).get(lang), found.get("health") or {}
    else:
        thresholds = tiers.attrs.get("thresholds")
        described = thresholds.describe(lang) if thresholds is not None else None
        health = tiers.attrs.get("health") or {}
    if described is not None:
        print(described, file=file)
    for message in tier_health_messages(health, lang, config):  # labels of every tier, also empty ones
        print(("警告：" if lang == "zh" else "WARNING: ") + message, file=sys.stderr)


def _cmd_tiers(args: argparse.Namespace) -> int:
    if args.table:
        return _cmd_tiers_table(args)
    if args.as_of is None:
        raise ValueError("segkit tiers needs --as-of DATE (with --data DIR), or --table FILE for the handbook's customer table")
    import warnings

    from segkit.export import tiers_command
    from segkit.writers import check_output_file
    from segkit.segment.thresholds import TierHealthWarning

    check_output_file(args.out)
    parse_date(args.as_of, "--as-of")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TierHealthWarning)  # printed below, once, in words
        tiers = tiers_command(args.data, args.as_of, args.out, lang=args.lang or "zh", config=args.config, overrides=args.overrides)
    from segkit.segment.tiers import tier_labels

    counts = tier_labels(tiers, args.lang or "zh", args.config).value_counts().to_dict()
    print(f"{len(tiers):,} customers: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
          + f"; {int(tiers['needs_review'].sum()):,} to review")
    _print_tier_health(tiers, args.lang or "zh", args.config)
    print(f"written to {args.out}")
    return 0


def _cmd_tiers_table(args: argparse.Namespace) -> int:
    """``segkit tiers --table FILE``: tier the handbook's customer table, write it back filled."""
    import warnings

    from segkit.handbook import MissingColumnsWarning, tiers_from_table

    if args.overrides:
        raise ValueError("--overrides works with --data/--as-of; with --table, edit the table instead")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MissingColumnsWarning)
        result = tiers_from_table(args.table, lang=args.lang, config=args.config, out=args.out,
                                  encoding=args.encoding, amount_unit=args.amount_unit)
    for w in caught:
        if issubclass(w.category, MissingColumnsWarning):
            print(f"warning: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    print(result.summary())
    print(f"written to {args.out}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from segkit.sample import DEFAULT_CUSTOMERS, DEFAULT_SEED, generate_sample

    seed = DEFAULT_SEED if args.seed is None else args.seed
    customers = DEFAULT_CUSTOMERS if args.customers is None else args.customers
    paths = generate_sample(args.out, seed=seed, n_customers=customers)
    total = 0
    for path in paths.values():
        size = path.stat().st_size
        total += size
        if path.suffix == ".csv":
            rows = path.read_bytes().count(b"\n") - 1
            print(f"{path}  {rows:>7,} rows  {size / 1e6:5.2f} MB")
        else:
            print(path)
    print(f"{len(paths)} files, {total / 1e6:.2f} MB, seed {seed}, {customers} customers")
    return 0


def _cmd_quarter_outputs(args: argparse.Namespace) -> int:
    """The quarter's outputs from one data folder (what ``make report`` runs)."""
    from segkit.features import snapshot
    from segkit.io import load_dataset
    from segkit.reporting.render import check_output_folder
    from segkit.reporting.side_outputs import write_side_outputs

    check_output_folder(args.out)
    if args.quarter is not None:
        args.quarter = parse_quarter(args.quarter)  # before any folder is made
    ds = load_dataset(args.data, engine=args.engine)
    quarter = args.quarter or latest_complete_quarter(ds.as_of)
    as_of = quarter_end(quarter)
    if as_of > ds.as_of:
        raise ValueError(f"quarter {quarter} ends on {as_of.date()}, after the data's as-of date {ds.as_of.date()}; "
                         f"the latest complete quarter is {latest_complete_quarter(ds.as_of)}")
    print(f"quarter {quarter} (data as of {ds.as_of.date()})")
    snap = snapshot(ds, as_of)  # computed before the quarter's folder exists
    out = Path(args.out) / quarter
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "validation_summary.txt", "w", encoding="utf-8") as fh:
        _print_validation(ds, fh)
    # whole-company outputs sit beside whole-company (masked) reports: masked like them
    written = [out / "validation_summary.txt", *write_side_outputs(ds, snap, out)]
    for path in written:
        print(path)
    return 0


def _quarter_tiers(args: argparse.Namespace):
    """The tiers of the report's quarter (for the terminal's tier-health line, when no report
    kernel left them in the run cache)."""
    import warnings

    from segkit.features import snapshot
    from segkit.io import load_dataset
    from segkit.segment.thresholds import TierHealthWarning
    from segkit.segment.tiers import assign_tiers

    ds = load_dataset(args.data, config=args.config)
    as_of = quarter_end(args.quarter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TierHealthWarning)
        return assign_tiers(snapshot(ds, as_of), config=args.config, as_of=as_of)


def _report_tier_health(args: argparse.Namespace, langs: list[str], found: dict | None = None) -> None:
    """The tier-health warning of the report's quarter on the terminal too (the report shows it):
    as the report's kernel found it, else from tiers computed here; the message in each language."""
    tiers = _quarter_tiers(args) if found is None else None
    health = found.get("health") if found is not None else tiers.attrs.get("health")
    if not (health or {}).get("ok", True):
        for lang in langs:
            _print_tier_health(tiers, lang, args.config, file=sys.stderr, found=found)


@contextlib.contextmanager
def _environment(**values: str | None):
    """Set environment variables for the duration (report kernels inherit them), then restore."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update({name: value for name, value in values.items() if value is not None})
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _cmd_report(args: argparse.Namespace) -> int:
    """Render reports. The files are read and validated once per run: the first load saves the
    validated data set in a temporary folder, and every report's kernel reopens it."""
    from segkit.ingest import CACHE_VARIABLE, ENGINE_VARIABLE

    with tempfile.TemporaryDirectory(prefix="segkit-run-") as run:
        with _environment(**{ENGINE_VARIABLE: args.engine, CACHE_VARIABLE: os.environ.get(CACHE_VARIABLE) or run}):
            return _render_reports(args)


def _render_reports(args: argparse.Namespace) -> int:
    from segkit.reporting.render import ReportError, check_output_folder, default_quarter, render, render_departments
    from segkit.reporting.run_cache import RunCache, tier_health_key

    from segkit.io import load_dataset

    from segkit.reporting.render import FORMATS

    check_output_folder(args.out)  # every argument is checked before any folder is made
    if args.quarter is not None:
        args.quarter = parse_quarter(args.quarter)
    for option, given, allowed in (("--lang", args.lang, ("zh", "en")), ("--format", args.format, FORMATS)):
        values = [v.strip() for v in given.split(",") if v.strip()]
        if not values or set(values) - set(allowed):
            raise ValueError(f"{option} {given[:200]!r}: use {' or '.join(allowed)}, or both: {','.join(allowed)}")
    if args.quarter is None:
        ds = load_dataset(args.data, config=args.config)
        args.quarter, as_of = default_quarter(ds)
        print(f"quarter {args.quarter}: the latest complete quarter of the data (as of {as_of.date()})")
        del ds  # the notebooks reopen the validated data; this process need not hold it meanwhile
    langs = [lang.strip() for lang in args.lang.split(",") if lang.strip()]
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    # one run cache for every notebook of this command and of the next `segkit report` into the
    # same folder: the churn model is trained once per quarter end it is for (run_cache.py)
    cache = RunCache(Path(args.out) / ".segkit-cache")
    cache.prune()
    # the quarterly report's kernel leaves the quarter's tier health here for the terminal
    config_file = args.config.path if args.config is not None else None  # each report's kernel reads it itself
    health_key = tier_health_key(args.quarter, args.data, config_file)
    cache.discard(health_key)
    common = dict(data_dir=args.data, config=config_file, formats=formats, out=args.out, cache_dir=cache.root)
    failures: dict[str, str] = {}
    healthy_langs: list[str] = []  # quarterly reports written, whose tier health goes to the terminal
    printed: set[Path] = set()
    for lang in langs:
        if args.all_departments:
            results, failed = render_departments(args.name, quarter=args.quarter, lang=lang, **common)
            failures.update({f"{dept} ({lang})": msg for dept, msg in failed.items()})
            if not results and not failed:
                raise ValueError(f"no departments in {args.data}: --all-departments needs a department column "
                                 "with values in the customers file")
        else:
            try:
                results = [render(args.name, args.quarter, lang=lang, owner=args.owner, department=args.department, **common)]
            except ReportError as exc:
                failures[lang] = str(exc)
                results = []
        for result in results:
            for path in result.paths.values():
                print(path)
            for path in result.side_files:  # the quarterly XLSX lists: once, though each language writes them
                if path not in printed:
                    printed.add(path)
                    print(path)
        if results and args.name == "quarterly":
            healthy_langs.append(lang)
    if healthy_langs:
        found = cache.load(health_key)
        _report_tier_health(args, healthy_langs, found[1] if found is not None else None)
    if failures:
        print(f"\n{len(failures)} report(s) failed:", file=sys.stderr)
        for scope, message in failures.items():
            print(f"  {scope}: {message}", file=sys.stderr)
        return 1
    return 0


def _engine_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", default=None, choices=["duckdb", "pandas"],
                   help="who reads and validates the files: duckdb (embedded, bounded memory; the default, "
                        "set by engine.default in the configuration) or pandas (the in-memory reference)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segkit", description="Customer segmentation for CRM work.")
    parser.add_argument("--version", action="version", version=f"segkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="read a data folder, print a validation summary, write rejected rows")
    p.add_argument("path", help="folder with customers / orders / interactions / surveys (/ contracts) files")
    p.add_argument("--as-of", default=None, help="the data's as-of date (default: dataset.yaml, else the latest date in the data)")
    p.add_argument("--rejected", default="rejected_rows.csv", help="where to write the rejected rows (CSV or XLSX)")
    p.add_argument("--warnings", default=None, help="also write the warnings (kept rows) to this file")
    p.add_argument("--config", default=None, help="a segkit YAML configuration (e.g. extra vocabulary synonyms)")
    _engine_option(p)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("snapshot", help="write the point-in-time customer snapshot")
    p.add_argument("--data", required=True)
    p.add_argument("--as-of", default=None)
    p.add_argument("--unit", default="W", choices=["D", "W"], help="time unit of the BTYD statistics")
    p.add_argument("--out", required=True, help="CSV or XLSX file")
    _engine_option(p)
    p.set_defaults(func=_cmd_snapshot)

    p = sub.add_parser("tiers", help="assign tiers and write the handbook's tier table (CSV or XLSX)")
    p.add_argument("--table", default=None,
                   help="the handbook's customer table (客户关系划分模板, XLSX or CSV): tier its rows and write it back filled")
    p.add_argument("--as-of", default=None, help="snapshot date, e.g. 2026-09-30 (with --data)")
    p.add_argument("--data", default="data/sample")
    p.add_argument("--out", required=True, help="FILE.xlsx or FILE.csv")
    p.add_argument("--lang", default=None, choices=["zh", "en"],
                   help="language of the texts (default: zh; with --table, the language of the table's headers)")
    p.add_argument("--config", default=None)
    p.add_argument("--overrides", default=None, help="manual tier overrides (CSV/XLSX)")
    p.add_argument("--encoding", default=None,
                   help="with --table and a .csv --out: encoding to write (default: the input's, e.g. gb18030, utf-8-sig)")
    p.add_argument("--amount-unit", default=None, choices=["wan", "yuan"],
                   help="with --table: unit of the amount column when its header does not say (万元 or 元)")
    p.set_defaults(func=_cmd_tiers)

    p = sub.add_parser("sample", help="generate the synthetic sample data set")
    p.add_argument("--out", default="data/sample", help="folder to write (default: data/sample)")
    # defaults are segkit.sample's (the ones data/sample was made with), not repeated here
    p.add_argument("--seed", type=int, help="random seed (default: the one data/sample was made with)")
    p.add_argument("--customers", type=int, help="number of customers (default: as many as data/sample has)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("report", help="render the quarterly segmentation or churn report to HTML and PDF")
    p.add_argument("name", choices=["quarterly", "churn"])
    p.add_argument("--quarter", default=None, help="e.g. 2026Q3 (default: latest complete quarter of the data)")
    p.add_argument("--data", default="data/sample")
    p.add_argument("--config", default=None, help="a segkit YAML configuration")
    p.add_argument("--lang", default="zh", help="zh, en or both: zh,en")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--owner", default=None, help="only this sales owner's customers")
    scope.add_argument("--department", default=None, help="only this department's customers")
    scope.add_argument("--all-departments", action="store_true", help="one report per department; continues past failures")
    p.add_argument("--format", default="html,pdf", help="html, pdf or both: html,pdf")
    p.add_argument("--out", default="reports")
    _engine_option(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("quarter-outputs", help="validation summary, rejected rows and snapshot for a quarter")
    p.add_argument("--data", default="data/sample")
    p.add_argument("--quarter", default=None, help="e.g. 2026Q3 (default: latest complete quarter of the data)")
    p.add_argument("--out", default="reports")
    _engine_option(p)
    p.set_defaults(func=_cmd_quarter_outputs)
    return parser


def main(argv: list[str] | None = None) -> int:
    from segkit.config import ConfigError, Settings
    from segkit.schema import SchemaError

    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "config", None) is not None:  # --config: read and checked once, shared by every step
            args.config = Settings(args.config)
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (``segkit validate DIR | head -1``): stop quietly, as other tools do;
        # stdout is pointed at devnull so the interpreter's final flush does not complain again
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by a closed pipe
    except (SchemaError, ConfigError, ValueError, FileNotFoundError) as exc:
        print(f"segkit {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder or file that cannot be written: the file system's words, no traceback
        print(f"segkit {args.command}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _message(exc: BaseException, limit: int = 4000) -> str:
    """The error's text, cut to ``limit`` characters (values in it are cut where they are made)."""
    text = str(exc)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
