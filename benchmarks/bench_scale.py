"""Issue 11's scale goals, measured: one runner for the goals table of ``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/bench_scale.py --rows snapshot100m
    .venv/bin/python benchmarks/bench_scale.py --rows validate200k,report200k,ratio
    .venv/bin/python benchmarks/bench_scale.py --rows report500k

Every measured command runs in a fresh process under ``/usr/bin/time -v`` (wall clock and
maximum resident set size of the largest process it waited for), with the 1-minute load
average recorded when it starts, as the machine is shared. The rows:

``validate200k``
    ``segkit validate`` on the sample scaled 100x (200 k customers, 12.8 M rows), with
    ``--engine pandas`` and ``--engine duckdb`` side by side when ``segkit validate --help``
    offers ``--engine``; otherwise once, as "pandas (current)". Goal <= 20 s, <= 2 GB.
``report200k`` / ``report500k``
    ``segkit report quarterly --lang zh --format html,pdf`` on the 100x / 250x folder
    (``--engine duckdb`` when ``segkit report --help`` offers it). Goals <= 2 min / 3 GB and
    <= 3 min / 4 GB. Stopped after ``--report-timeout`` (25 min).
``ratio``
    The same report on ``data/sample`` and on the 100x folder in one run (the 100x time is
    ``report200k``'s when both rows run in the same invocation): time(200 k) / time(2 k) <= 5.
``snapshot100m``
    The snapshot of ``--snapshot-copies`` (default 1,873: 100.04 M orders, 3.74 M customers)
    validated copies of the sample, read from Parquet by DuckDB through
    :func:`segkit.engine.snapshot_from_ibis` (Parquet views, not ``load_dataset``): once with
    DuckDB's default memory, then with ``SET memory_limit='1.5GB'`` and a temp directory to
    spill to (it must finish), with DuckDB's default threads and again with ``SET threads=1``
    and ``SET preserve_insertion_order=false`` (DuckDB's advice for little memory); with
    ``--snapshot-runs`` only some of these run, the others keep their measurement on the same
    files. Goal <= 120 s, <= 6 GB. Polars (streaming, the order and
    interaction aggregates of ``bench_snapshot.py``) runs on the same files as a near-limit
    reference. Before that, on ``--check-copies`` copies (default 100, the 200 k folder), the DuckDB snapshot from
    the typed Parquet must equal ``segkit.features.snapshot(load_dataset(<the CSV copies>),
    engine="pandas")`` (integers, dates and labels exactly, floats to 1e-9 relative) and
    Polars' aggregates the same columns; the run exits non-zero otherwise.

Results are kept in ``benchmarks/scale_goals.json`` (the latest measurement of each row) and
rendered into the "Scale goals (issue 11)" section of ``RESULTS.md``; rows not selected keep
their earlier measurement. GB here is 10^9 bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
DATA = BENCH / ".data"
SAMPLE = ROOT / "data" / "sample"
STORE = BENCH / "scale_goals.json"
RESULTS = BENCH / "RESULTS.md"
START, END = "<!-- scale-goals:start -->", "<!-- scale-goals:end -->"
ROWS = ("validate200k", "report200k", "report500k", "ratio", "snapshot100m")
GB = 1e9
TYPED_TABLES = ("customers", "transactions", "interactions", "surveys")
SNAPSHOT_RUNS = ("default", "memory_limit=1.5GB", "memory_limit=1.5GB threads=1", "polars")

# row -> (the work, goal seconds, goal peak RSS in GB); "ratio" has a ratio instead
GOALS = {
    "validate200k": ("`segkit validate` on the 200 k / 12.8 M-row folder (K = 100)", 20, 2),
    "report200k": ("`segkit report quarterly` (zh, HTML + PDF) on the same folder", 120, 3),
    "report500k": ("the same report at 500 k customers (K = 250)", 180, 4),
    "snapshot100m": ("snapshot of 100 M orders from Parquet with DuckDB", 120, 6),
    "ratio": ("time(200 k folder) / time(2 k sample), quarterly report, one run", 5, None),
}


# --- measuring ----------------------------------------------------------------------------------
def python() -> str:
    return sys.executable


def segkit_bin() -> str:
    return str(Path(sys.executable).with_name("segkit"))


def show(cmd: list[str]) -> str:
    """The command as a user types it in the repository root (paths relative to it)."""
    def rel(part: str) -> str:
        return part.replace(str(ROOT) + "/", "")
    return shlex.join(rel(p) for p in cmd)


def measure(cmd: list[str], *, timeout: float | None = None, log: Path | None = None) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v`` in its own process group.

    Returns wall seconds, peak RSS (bytes, of the largest process waited for), the exit
    status, whether it was stopped at ``timeout``, the 1-minute load average at the start and
    the last lines of its output.
    """
    load = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as handle:
        timing = Path(handle.name)
    out = log or Path(tempfile.mkstemp(suffix=".log")[1])
    started = time.monotonic()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"[{when}] load {load:.2f}: {show(cmd)}", flush=True)
    with out.open("w") as sink:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(timing), *cmd], cwd=ROOT,
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        stopped = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stopped = True
            # stop what /usr/bin/time runs, so that it still writes the peak RSS so far
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            for pid in (children.read_text().split() if children.exists() else []):
                os.kill(int(pid), signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            if proc.poll() is None or _alive_group(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)  # the group this call started, nothing else
                proc.wait()
    elapsed = time.monotonic() - started
    fields = {}
    for line in timing.read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    timing.unlink()
    wall = _clock(fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)")) or elapsed
    rss = int(fields.get("Maximum resident set size (kbytes)", "0") or 0) * 1024
    status = int(fields["Exit status"]) if "Exit status" in fields else proc.returncode
    tail = out.read_text(errors="replace").splitlines()[-12:]
    result = {"command": show(cmd), "wall_s": round(wall, 2), "peak_rss_bytes": rss, "exit_status": status,
              "stopped": stopped, "timeout_s": timeout, "load_1m": round(load, 2), "started": when, "tail": tail}
    print(f"    -> {wall:.1f} s, {rss / GB:.2f} GB, exit {status}{', STOPPED' if stopped else ''}", flush=True)
    if status != 0 and not stopped:
        print("\n".join("    | " + t for t in tail), flush=True)
    return result


def _alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _clock(text: str | None) -> float | None:
    if not text:
        return None
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


# --- data ---------------------------------------------------------------------------------------
def ensure_scaled(copies: int) -> Path:
    """The CSV folder of ``copies`` renamed copies of the sample (written when missing)."""
    folder = DATA / f"sample-x{copies}"
    if not (folder / "dataset.yaml").is_file():
        subprocess.run([python(), str(BENCH / "scale_data.py"), "--copies", str(copies), "--out", str(folder)],
                       check=True, cwd=ROOT)
    return folder


def ensure_typed(copies: int) -> Path:
    """The typed Parquet folder of ``copies`` validated copies (written when missing)."""
    folder = DATA / f"typed-x{copies}"
    if not (folder / "meta.json").is_file():
        free = shutil.disk_usage(DATA if DATA.exists() else BENCH).free
        need = copies * 2.2e6  # ~1.9 MB of Parquet per copy of the sample, and a margin
        if free < need + 10 * GB:
            raise SystemExit(f"{folder}: needs about {need / GB:.1f} GB and 10 GB to spare; {free / GB:.1f} GB free")
        started = time.monotonic()
        subprocess.run([python(), str(BENCH / "scale_data.py"), "--copies", str(copies), "--out", str(folder), "--typed"],
                       check=True, cwd=ROOT)
        print(f"    wrote {folder} in {time.monotonic() - started:.0f} s", flush=True)
    return folder


def has_engine_option(command: str) -> bool:
    """Whether ``segkit <command> --help`` offers ``--engine``."""
    out = subprocess.run([segkit_bin(), command, "--help"], capture_output=True, text=True, cwd=ROOT)
    return "--engine" in out.stdout


# --- the snapshot child processes ---------------------------------------------------------------
def child_snapshot(typed: Path, memory_limit: str | None, temp_dir: Path | None, out: Path | None,
                   threads: int | None = None) -> None:
    """DuckDB snapshot of the typed Parquet tables through segkit.engine; prints JSON.

    With ``threads``, also ``SET threads`` and ``SET preserve_insertion_order=false`` (DuckDB's
    advice for running in little memory).
    """
    import ibis

    from segkit.engine import snapshot_from_ibis

    meta = json.loads((typed / "meta.json").read_text())
    con = ibis.duckdb.connect()
    if memory_limit:
        con.raw_sql(f"SET memory_limit='{memory_limit}'")
    if temp_dir:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.raw_sql(f"SET temp_directory='{temp_dir}'")
    if threads:
        con.raw_sql(f"SET threads={int(threads)}")
        con.raw_sql("SET preserve_insertion_order=false")
    spill = {"max_bytes": 0}
    stop = threading.Event()

    def watch() -> None:  # the most the temp directory held while the query ran
        while not stop.wait(0.5):
            if temp_dir and temp_dir.exists():
                size = sum(f.stat().st_size for f in temp_dir.rglob("*") if f.is_file())
                spill["max_bytes"] = max(spill["max_bytes"], size)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    for name in TYPED_TABLES:  # views over the files: DuckDB reads them as the query needs
        con.read_parquet(str(typed / f"{name}.parquet"), table_name=name)
    snap = snapshot_from_ibis(con, meta["as_of"], transactions="transactions", customers="customers",
                              interactions="interactions", surveys="surveys", currency=meta["currency"])
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    settings = con.raw_sql("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    if out is not None:
        snap.attrs = {}
        snap.to_parquet(out)
    print(json.dumps({"rows": len(snap), "seconds": round(seconds, 2), "memory_limit": settings[0],
                      "threads": settings[1], "spilled_max_bytes": spill["max_bytes"]}))


def child_polars(typed: Path, out: Path | None) -> None:
    """Polars (streaming) order and interaction aggregates of the typed Parquet; prints JSON."""
    import polars as pl

    sys.path.insert(0, str(BENCH))
    from bench_snapshot import polars_aggregates

    meta = json.loads((typed / "meta.json").read_text())
    started = time.perf_counter()
    lazy = polars_aggregates(pl.scan_parquet(typed / "transactions.parquet"),
                             pl.scan_parquet(typed / "interactions.parquet"), meta["as_of"])
    result = lazy.collect(engine="streaming")
    seconds = time.perf_counter() - started
    if out is not None:
        result.write_parquet(out)
    print(json.dumps({"rows": result.height, "seconds": round(seconds, 2), "polars": pl.__version__}))


def compare(got, want) -> dict:
    """Column by column: integers, booleans, dates and labels equal, floats within 1e-9 relative."""
    import numpy as np
    import pandas as pd

    problems = {}
    if sorted(got.index) != sorted(want.index):
        return {"index": f"{len(got)} vs {len(want)} customers, {len(set(got.index) ^ set(want.index))} differ"}
    got = got.loc[want.index]
    for col in want.columns:
        a, b = got[col], want[col]
        if pd.api.types.is_bool_dtype(b) or pd.api.types.is_numeric_dtype(b):
            x = pd.to_numeric(a).astype("float64").to_numpy()
            y = pd.to_numeric(b).astype("float64").to_numpy()
            if pd.api.types.is_float_dtype(b):
                same = np.isclose(x, y, rtol=1e-9, atol=0, equal_nan=True)
            else:
                same = (x == y) | (np.isnan(x) & np.isnan(y))
        else:
            x = a.astype(object).where(a.notna(), None).tolist()
            y = b.astype(object).where(b.notna(), None).tolist()
            same = np.array([u == v for u, v in zip(x, y, strict=True)])
        if not same.all():
            problems[col] = f"{int((~same).sum())} rows differ"
    return problems


def child_check(copies: int, work: Path) -> None:
    """DuckDB from typed Parquet vs pandas from the CSV copies (and Polars); exit 1 if they differ."""
    import numpy as np
    import pandas as pd

    from segkit.features import snapshot
    from segkit.io import load_dataset

    folder, typed = ensure_scaled(copies), ensure_typed(copies)
    work.mkdir(parents=True, exist_ok=True)
    duck_out, polars_out = work / f"check-duckdb-x{copies}.parquet", work / f"check-polars-x{copies}.parquet"
    subprocess.run([python(), __file__, "--child", "snapshot", "--typed", str(typed), "--out", str(duck_out)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    subprocess.run([python(), __file__, "--child", "polars", "--typed", str(typed), "--out", str(polars_out)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    ds = load_dataset(folder)
    want = snapshot(ds, ds.as_of, engine="pandas")
    got = pd.read_parquet(duck_out)
    problems = compare(got, want)
    polars = pd.read_parquet(polars_out).set_index("customer_id").reindex(want.index)
    for col in polars.columns:  # customers without records are absent in Polars: zero
        expected = want[col].to_numpy(dtype=float)
        value = polars[col].fillna(0).to_numpy(dtype=float)
        if col.startswith("revenue"):
            value = np.round(value, 2)
        if not np.allclose(value, expected, rtol=1e-9, atol=0):
            problems[f"polars {col}"] = "differs"
    print(json.dumps({"copies": copies, "customers": len(want), "orders": len(ds.transactions),
                      "columns": len(want.columns), "equal": not problems, "problems": problems}))
    sys.exit(0 if not problems else 1)


def _child_json(result: dict) -> dict:
    for line in reversed(result["tail"]):
        if line.startswith("{"):
            return json.loads(line)
    return {}


# --- the rows -----------------------------------------------------------------------------------
def row_validate(args) -> dict:
    folder = ensure_scaled(100)
    engines = ["pandas", "duckdb"] if has_engine_option("validate") else [None]
    out = {}
    for engine in engines:
        rejected = DATA / "out" / f"validate-{engine or 'current'}-rejected.csv"
        rejected.parent.mkdir(parents=True, exist_ok=True)
        cmd = [segkit_bin(), "validate", str(folder), "--rejected", str(rejected)]
        cmd += ["--engine", engine] if engine else []
        out[engine or "pandas (current)"] = measure(cmd, timeout=args.report_timeout)
    return {"runs": out}


def _report_cmd(folder: Path, out: Path, engine: bool) -> list[str]:
    cmd = [segkit_bin(), "report", "quarterly", "--lang", "zh", "--format", "html,pdf", "--data", str(folder),
           "--out", str(out)]
    return cmd + (["--engine", "duckdb"] if engine else [])


def row_report(args, copies: int) -> dict:
    folder = ensure_scaled(copies)
    engine = has_engine_option("report")
    out = DATA / "out" / f"report-x{copies}"
    shutil.rmtree(out, ignore_errors=True)
    label = "duckdb" if engine else "pandas (current)"
    return {"runs": {label: measure(_report_cmd(folder, out, engine), timeout=args.report_timeout)}}


def row_ratio(args, done: dict) -> dict:
    engine = has_engine_option("report")
    label = "duckdb" if engine else "pandas (current)"
    small_out = DATA / "out" / "report-sample"
    shutil.rmtree(small_out, ignore_errors=True)
    small = measure(_report_cmd(SAMPLE, small_out, engine), timeout=args.report_timeout)
    if "report200k" in done:
        big, reused = done["report200k"]["runs"][label], True
    else:
        big_out = DATA / "out" / "report-x100"
        shutil.rmtree(big_out, ignore_errors=True)
        big, reused = measure(_report_cmd(ensure_scaled(100), big_out, engine), timeout=args.report_timeout), False
    return {"runs": {label: {"sample": small, "x100": big, "x100_from_report200k": reused}}}


def row_snapshot(args) -> dict:
    work = DATA / "out"
    work.mkdir(parents=True, exist_ok=True)
    check_cmd = [python(), __file__, "--child", "check", "--check-copies", str(args.check_copies)]
    print(f"equality check on {args.check_copies} copies: {show(check_cmd)}", flush=True)
    check = subprocess.run(check_cmd, capture_output=True, text=True, cwd=ROOT)
    verdict = json.loads(check.stdout.strip().splitlines()[-1]) if check.stdout.strip() else {"equal": False, "problems": check.stderr[-2000:]}
    print(f"    -> {verdict}", flush=True)
    if check.returncode != 0 or not verdict.get("equal"):
        raise SystemExit(f"the DuckDB snapshot from Parquet differs from pandas': {verdict}")
    typed = ensure_typed(args.snapshot_copies)
    meta = json.loads((typed / "meta.json").read_text())
    base = [python(), __file__, "--child", "snapshot", "--typed", str(typed)]
    spill_dir = DATA / "duckdb-spill"
    shutil.rmtree(spill_dir, ignore_errors=True)
    limited = base + ["--memory-limit", "1.5GB", "--temp-dir", str(spill_dir)]
    commands = {
        "default": base,
        "memory_limit=1.5GB": limited,
        "memory_limit=1.5GB threads=1": limited + ["--threads", "1"],
        "polars": [python(), __file__, "--child", "polars", "--typed", str(typed)],
    }
    chosen = [r.strip() for r in args.snapshot_runs.split(",")] if args.snapshot_runs else list(commands)
    if set(chosen) - set(commands):
        raise SystemExit(f"--snapshot-runs takes some of {', '.join(commands)}; got {args.snapshot_runs!r}")
    runs = {}
    for label in chosen:
        runs[label] = measure(commands[label], timeout=args.snapshot_timeout)
        shutil.rmtree(spill_dir, ignore_errors=True)
    for run in runs.values():
        run["child"] = _child_json(run)
    size = sum(f.stat().st_size for f in typed.glob("*.parquet"))
    return {"runs": runs, "check": verdict, "copies": args.snapshot_copies, "rows": meta["rows"],
            "parquet_bytes": size,
            "flags": f"--snapshot-copies {args.snapshot_copies} --check-copies {args.check_copies}"}


# --- RESULTS.md ---------------------------------------------------------------------------------
def _gb(run: dict) -> str:
    if not run["peak_rss_bytes"]:
        return "not recorded (stopped)" if run["stopped"] else "not recorded"
    return f"{run['peak_rss_bytes'] / GB:.2f} GB"


def _wall(run: dict) -> str:
    if run["stopped"]:
        return f"> {run['timeout_s'] / 60:.0f} min, stopped"
    if run["exit_status"] != 0:
        return f"failed (exit {run['exit_status']}) after {run['wall_s']:.1f} s"
    return f"{run['wall_s']:.1f} s" if run["wall_s"] < 120 else f"{run['wall_s']:.0f} s ({run['wall_s'] / 60:.1f} min)"


def _met(run: dict, seconds: float, gb: float | None) -> str:
    if run["stopped"] or run["exit_status"] != 0:
        return "**not met**"
    ok = run["wall_s"] <= seconds and (gb is None or run["peak_rss_bytes"] <= gb * GB)
    return "met" if ok else "**not met**"


def _when(entry: dict) -> str:
    """The UTC date the row's first command started."""
    found = []

    def walk(value) -> None:
        if isinstance(value, dict):
            if "started" in value:
                found.append(value["started"])
            for item in value.values():
                walk(item)

    walk(entry.get("runs", {}))
    return min(found)[:10] if found else entry.get("measured", "?")


def render(store: dict) -> str:
    py = ".venv/bin/python benchmarks/bench_scale.py"
    lines = [
        "## Scale goals (issue 11)", "",
        f"Written by `{py} --rows ...` (see benchmarks/README.md). Each command ran once, in a fresh "
        "process under `/usr/bin/time -v`: wall clock, and the maximum resident set size of the largest "
        "single process it waited for (for `segkit report` that is the CLI or one notebook kernel, "
        "whichever peaked higher; not their sum). GB = 10^9 bytes. **The machine has 2 cores shared with "
        "other engineers' test runs**: the 1-minute load average at the start of each command is in the "
        "table; above ~2 the command shared its cores and its time is longer than on a quiet machine.", "",
        "| goal | measured | engine | wall | peak RSS | goal met | load at start | reproduce |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes, commands = [], []
    for row in ROWS:
        work, seconds, gb = GOALS[row]
        goal = (f"{work}: <= {seconds} s" if row != "ratio" else f"{work}: <= {seconds}") + (f", <= {gb} GB" if gb else "")
        if row == "snapshot100m":
            goal += ", and finishes with `memory_limit='1.5GB'`"
        entry = store.get(row)
        rows_flag = "report200k,ratio" if row == "ratio" else row  # the ratio's 200 k time is report200k's
        reproduce = f"`{py} --rows {rows_flag}{' ' + entry['flags'] if entry and entry.get('flags') else ''}`"
        if entry and entry.get("invocation"):
            commands.append(f"- {row} was measured by `{entry['invocation']}`")
        if entry is None:
            lines.append(f"| {goal} | not measured yet | | | | | | {reproduce} |")
            continue
        when = _when(entry)
        if row == "ratio":
            for label, pair in entry["runs"].items():
                small, big = pair["sample"], pair["x100"]
                if big["stopped"]:
                    ratio, met = f"> {int(big['timeout_s'] / small['wall_s'])}", "**not met**"
                else:
                    value = big["wall_s"] / small["wall_s"]
                    ratio, met = f"{value:.1f}", "met" if value <= seconds else "**not met**"
                lines.append(f"| {goal} | {when}: 2 k sample {_wall(small)}, 200 k {_wall(big)}; ratio **{ratio}** | {label} | "
                             f"{_wall(small)} / {_wall(big)} | {_gb(small)} / {_gb(big)} | {met} | "
                             f"{small['load_1m']:.2f} / {big['load_1m']:.2f} | {reproduce} |")
                commands.append(f"- ratio, 2 k: `{small['command']}`")
                commands.append(f"- ratio, 200 k: `{big['command']}`"
                                + (" (the report200k run of the same invocation)" if pair["x100_from_report200k"] else ""))
            continue
        if row == "snapshot100m":
            rows = entry["rows"]
            what = (f"{when}: K = {entry['copies']:,}: {rows['transactions'] / 1e6:.1f} M orders, "
                    f"{rows['customers'] / 1e6:.2f} M customers, {rows['interactions'] / 1e6:.1f} M interactions, "
                    f"{rows['surveys'] / 1e6:.1f} M survey answers; {entry['parquet_bytes'] / GB:.1f} GB of Parquet")
            for label, run in entry["runs"].items():
                child = run.get("child", {})
                wall = _wall(run) + (f" (call {child['seconds']:.1f} s)" if "seconds" in child else "")
                if label == "polars":
                    engine, met = f"Polars {child.get('polars', '')} streaming (reference: order + interaction aggregates only)", "(reference)"
                elif label == "default":
                    engine, met = f"DuckDB via segkit.engine, default memory_limit ({child.get('memory_limit', '?')}), {child.get('threads', '?')} threads", _met(run, seconds, gb)
                else:
                    engine = "DuckDB via segkit.engine, `SET memory_limit='1.5GB'`, temp_directory"
                    if "threads=1" in label:
                        engine += ", `SET threads=1`, `SET preserve_insertion_order=false`"
                    else:
                        engine += f", {child.get('threads', 'default')} threads"
                    if child:
                        engine += f" (temp files up to {child.get('spilled_max_bytes', 0) / GB:.1f} GB)"
                    finished = not run["stopped"] and run["exit_status"] == 0
                    met = "finished" if finished else "**did not finish**"
                    if not finished and any("OutOfMemory" in line for line in run["tail"]):
                        met += ": " + next(line for line in run["tail"] if "OutOfMemory" in line).split(": ", 1)[-1]
                lines.append(f"| {goal} | {what} | {engine} | {wall} | {_gb(run)} | {met} | {run['load_1m']:.2f} | {reproduce} |")
                what = "the same files"
                commands.append(f"- snapshot100m, {label}: `{run['command']}`")
            check = entry["check"]
            notes.append(f"- snapshot100m: before the timed runs, on K = {check['copies']} copies ({check['customers']:,} customers, "
                         f"{check['orders']:,} orders), the DuckDB snapshot from the typed Parquet equalled "
                         f"`segkit.features.snapshot(load_dataset(<CSV copies>), engine=\"pandas\")` in all {check['columns']} "
                         "columns (integers, dates, labels exact; floats to 1e-9 relative), and Polars' aggregates the same "
                         "columns. The wall time is the whole process (starting Python, importing segkit and Ibis, reading "
                         "the Parquet, the customers table into pandas, `finish_snapshot`); in brackets the time of the call itself (`snapshot_from_ibis`, or collecting the Polars query). "
                         "The goal's 10 M customers would take K = 5,000 copies of the 2 k sample, i.e. 267 M orders: the "
                         "sample has 26.7 orders per customer, so K is chosen by the 100 M orders instead.")
            continue
        for label, run in entry["runs"].items():
            lines.append(f"| {goal} | {when} | {label} | {_wall(run)} | {_gb(run)} | {_met(run, seconds, gb)} | "
                         f"{run['load_1m']:.2f} | {reproduce} |")
            commands.append(f"- {row}, {label}: `{run['command']}`")
    lines += ["", "Commands measured (from the repository root):", "", *commands]
    if notes:
        lines += ["", *notes]
    machine = store.get("_machine")
    if machine:
        lines += ["", f"Machine: {machine}."]
    return "\n".join(lines) + "\n"


def write_results(store: dict) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    block = f"{START}\n{render(store)}{END}\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}, {platform.platform()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="", help=f"comma-separated rows to run: {', '.join(ROWS)}")
    parser.add_argument("--snapshot-copies", type=int, default=1873,
                        help="copies of the sample for snapshot100m (1,873: 100.04 M orders)")
    parser.add_argument("--check-copies", type=int, default=100, help="copies for the equality check (100: the 200 k folder)")
    parser.add_argument("--report-timeout", type=float, default=25 * 60, help="seconds before a command is stopped")
    parser.add_argument("--snapshot-timeout", type=float, default=30 * 60)
    parser.add_argument("--snapshot-runs", default="",
                        help=f"only these runs of snapshot100m (default all): {', '.join(SNAPSHOT_RUNS)}")
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md as it is")
    parser.add_argument("--render", action="store_true", help="only re-render RESULTS.md from scale_goals.json")
    parser.add_argument("--child", choices=["snapshot", "polars", "check"], help=argparse.SUPPRESS)
    parser.add_argument("--typed", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory-limit", help=argparse.SUPPRESS)
    parser.add_argument("--temp-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "snapshot":
        child_snapshot(args.typed, args.memory_limit, args.temp_dir, args.out, args.threads)
        return 0
    if args.child == "polars":
        child_polars(args.typed, args.out)
        return 0
    if args.child == "check":
        child_check(args.check_copies, DATA / "out")
        return 0

    store = json.loads(STORE.read_text(encoding="utf-8")) if STORE.exists() else {}
    if args.render:
        write_results(store)
        return 0
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown or not rows:
        parser.error(f"--rows takes some of {', '.join(ROWS)}; got {args.rows!r}")
    done: dict = {}
    for row in ROWS:  # a fixed order: report200k before ratio, which reuses it
        if row not in rows:
            continue
        started = dt.datetime.now(dt.UTC).date().isoformat()
        if row == "validate200k":
            done[row] = row_validate(args)
        elif row == "report200k":
            done[row] = row_report(args, 100)
        elif row == "report500k":
            done[row] = row_report(args, 250)
        elif row == "ratio":
            done[row] = row_ratio(args, done)
        else:
            done[row] = row_snapshot(args)
        done[row]["measured"] = started
        done[row]["invocation"] = show([python(), str(Path(__file__)), *(argv if argv is not None else sys.argv[1:])])
        earlier = store.get(row, {})
        if row == "snapshot100m" and earlier.get("copies") == done[row]["copies"]:
            # runs not chosen with --snapshot-runs keep their measurement on the same files
            merged = {**earlier.get("runs", {}), **done[row]["runs"]}
            done[row]["runs"] = {label: merged[label] for label in SNAPSHOT_RUNS if label in merged}
        if not args.no_write:  # after every row, so a long run keeps what it measured
            store[row] = done[row]
            store["_machine"] = machine()
            STORE.write_text(json.dumps(store, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            write_results(store)
    print(render({**store, **done}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
