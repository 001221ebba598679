"""Render a report notebook: papermill -> executed notebook -> self-contained HTML -> A4 PDF.

One entry point, :func:`render`, used by the CLI, the Makefile and the tests alike.

* The notebook runs through papermill with its ``parameters`` cell overridden.
* A failed run publishes nothing and leaves no folder behind: every output is written to a
  temporary folder beside the destination and moved into place (creating ``<out>/<quarter>/``)
  only when the notebook, the HTML and the PDF all succeeded, so an earlier good report stays
  untouched. The error names the notebook, the
  cell, the report section it belongs to and the cause.
* HTML uses segkit's nbconvert template (no code, no prompts, no stream output, nothing
  loaded from the network); the PDF is WeasyPrint's rendering of that same HTML on A4.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import nbformat

from segkit._version import __version__
from segkit.errors import ReportError  # defined with every segkit error; importable here as before
from segkit.io import Dataset
from segkit.periods import parse_quarter
from segkit.writers import file_slug as _slug

__all__ = ["render", "render_departments", "default_quarter", "ReportError", "REPORTS", "report_path", "find_notebook", "html_from_notebook", "embed_cjk_font",
           "pdf_from_html"]

REPORTS = {"quarterly": "quarterly_segmentation.ipynb", "churn": "churn_prediction.ipynb"}
FORMATS = ("html", "pdf")
REMOVE_TAGS = {"analyst-only", "remove-cell"}
TITLES = {
    ("quarterly", "zh"): "客户分层季度报告", ("quarterly", "en"): "Quarterly customer segmentation report",
    ("churn", "zh"): "客户流失预警报告", ("churn", "en"): "Churn prediction report",
}


@dataclass
class RenderResult:
    """What :func:`render` wrote."""

    name: str
    quarter: str
    lang: str
    scope: str | None
    paths: dict[str, Path] = field(default_factory=dict)
    #: Files the notebook wrote beside the report (the quarterly report's XLSX lists).
    side_files: list[Path] = field(default_factory=list)

    def __iter__(self):
        return iter(self.paths.values())


# ------------------------------------------------------------------------------------------------
# locating things


def find_notebook(name: str, notebook_dir: str | Path | None = None) -> Path:
    """The report notebook for ``name`` (``quarterly`` or ``churn``).

    The notebooks are package data (``segkit/reporting/notebooks``; a checkout links them as
    ``notebooks/reports``), so a plain ``pip install segkit`` can render reports. Pass
    ``notebook_dir`` to render an edited copy instead.
    """
    if name not in REPORTS:
        raise ValueError(f"unknown report {name!r}; reports: {', '.join(REPORTS)}")
    if notebook_dir is not None:
        path = Path(notebook_dir) / REPORTS[name]
        if not path.is_file():
            raise ReportError(f"report notebook {REPORTS[name]} not found in {notebook_dir}")
        return path
    return Path(str(resources.files("segkit.reporting").joinpath("notebooks", REPORTS[name])))


def check_output_folder(out: str | Path, what: str = "--out") -> Path:
    """Check, before anything is written, that ``out`` is a folder or can become one (no file
    of that name, no file on the way to it). An existing folder is fine: segkit replaces its
    own files in it, each atomically, and leaves every other file alone.
    """
    path = Path(out)
    for folder in (path.absolute(), *path.absolute().parents):
        if folder.exists():
            if not folder.is_dir():
                where = "is a file" if folder == path.absolute() else f"is inside {folder}, which is a file"
                raise ValueError(f"{what} {path} {where}; name a folder (reports go to <folder>/<quarter>/)")
            break
    return path


def report_path(out: str | Path, quarter: str, name: str, lang: str, scope: str | None = None, suffix: str = "html") -> Path:
    """``<out>/<quarter>/<report>[-<scope>]-<lang>.<suffix>``.

    Examples
    --------
    >>> report_path("reports", "2026Q3", "quarterly", "zh", "华东销售部").as_posix()
    'reports/2026Q3/quarterly-华东销售部-zh.html'
    """
    stem = name if scope is None else f"{name}-{_slug(scope)}"
    return Path(out) / quarter / f"{stem}-{lang}.{suffix}"


# ------------------------------------------------------------------------------------------------
# the three steps


PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _failed_cell(nb: nbformat.NotebookNode) -> tuple[int, str, str] | None:
    """(cell number in the source notebook, section heading, error) of the first failed cell.

    Cells papermill adds (injected parameters, the error banner) are not counted, so the
    number is the one an analyst sees in the notebook they edit (1-based).
    """
    heading = ""
    cells = [c for c in nb.cells if not PAPERMILL_TAGS & set(c.get("metadata", {}).get("tags", []))]
    for index, cell in enumerate(cells, start=1):
        if cell.cell_type == "markdown":
            match = re.search(r"^#+\s*(.+)$", cell.source, re.M)
            if match:
                heading = match.group(1).strip()
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, heading, f"{output.get('ename')}: {output.get('evalue')}"
    return None


def _kernel_manager_class():
    """Kernels talk over local IPC sockets where the OS has them (no TCP port, and no
    'running over TCP without encryption' warning from ipykernel in the job's log)."""
    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":  # pragma: no cover - Windows has no IPC transport
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            # sockets in a folder of this kernel's own: by default they are kernel-ipc-1, -2, ...
            # in the working directory, and two processes starting kernels at once (a test run
            # on two workers, two report jobs) could take the same names ("Invalid Signature")
            self._socket_dir = tempfile.mkdtemp(prefix="segkit-kernel-")
            kwargs.setdefault("ip", os.path.join(self._socket_dir, "kernel"))
            super().__init__(**kwargs)

        def write_connection_file(self, **kwargs):
            os.makedirs(self._socket_dir, exist_ok=True)  # again after a restart's clean-up
            return super().write_connection_file(**kwargs)

        def cleanup_ipc_files(self) -> None:
            super().cleanup_ipc_files()
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    return IPCKernelManager


def _execute(notebook: Path, executed: Path, parameters: dict, cwd: Path) -> nbformat.NotebookNode:
    import papermill as pm

    try:
        pm.execute_notebook(
            str(notebook), str(executed), parameters=parameters, cwd=str(cwd),
            kernel_name="python3", language="python", progress_bar=False, log_output=False, report_mode=False,
            kernel_manager_class=_kernel_manager_class(),
        )
    except pm.PapermillExecutionError as exc:
        nb = nbformat.read(executed, as_version=4) if executed.exists() else None
        where = _failed_cell(nb) if nb is not None else None
        section = f" (section '{where[1]}')" if where and where[1] else ""
        cell = where[0] if where else exc.cell_index
        raise ReportError(f"{notebook.name}: cell {cell}{section} failed: {exc.ename}: {exc.evalue}") from None
    except Exception as exc:  # kernel died, bad parameters, ... ; name the notebook
        raise ReportError(f"{notebook.name}: could not be executed: {type(exc).__name__}: {exc}") from exc
    nb = nbformat.read(executed, as_version=4)
    failure = _failed_cell(nb)
    if failure:  # papermill can write a notebook with an error and still return
        raise ReportError(f"{notebook.name}: cell {failure[0]} (section '{failure[1]}') failed: {failure[2]}")
    return nb


def other_language_tags(lang: str | None) -> set[str]:
    """Tags of the cells written in another language than ``lang`` (``lang-zh``, ``lang-en``).

    A report notebook carries its prose in both languages, one markdown cell per language
    tagged ``lang-<code>``; the published report keeps only its own language's cells.

    Examples
    --------
    >>> sorted(other_language_tags("en")), sorted(other_language_tags(None))
    (['lang-zh'], [])
    """
    from segkit.labels import LANGS

    return set() if lang is None else {f"lang-{other}" for other in LANGS if other != lang}


def _clean_outputs(nb: nbformat.NotebookNode, lang: str | None = None) -> nbformat.NotebookNode:
    """Drop what a reader must not see: analyst-only cells, cells in the other language
    (:func:`other_language_tags`), stream output (stdout, warnings on stderr) and
    plain-text-only reprs of objects."""
    nb = nbformat.from_dict(nb)
    remove = REMOVE_TAGS | other_language_tags(lang)
    kept = []
    for cell in nb.cells:
        if remove & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "code":
            outputs = []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    continue
                data = output.get("data", {})
                if output.get("output_type") in ("display_data", "execute_result") and set(data) <= {"text/plain"}:
                    continue
                outputs.append(output)
            cell.outputs = outputs
            if not outputs:  # parameters, imports: nothing for a reader
                continue
        kept.append(cell)
    for number, cell in enumerate(kept):  # papermill's injected cell has a random id
        cell["id"] = f"cell-{number}"
    nb.cells = kept
    return nb


def html_from_notebook(nb: nbformat.NotebookNode, *, title: str, lang: str) -> str:
    """A self-contained HTML page from an executed report notebook (charts and, for Chinese
    text, a subset of the bundled font embedded: see :func:`embed_cjk_font`)."""
    from nbconvert import HTMLExporter

    templates = resources.files("segkit.reporting").joinpath("templates")
    with resources.as_file(templates) as template_dir:
        exporter = HTMLExporter(
            template_name="segkit_report",
            extra_template_basedirs=[str(template_dir)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        css = (template_dir / "segkit_report" / "report.css").read_text(encoding="utf-8")
        body, _ = exporter.from_notebook_node(
            _clean_outputs(nb, lang),
            resources={"segkit": {"css": css, "title": title, "html_lang": "zh-CN" if lang == "zh" else "en", "version": __version__}},
        )
    return embed_cjk_font(body)


#: CSS family name of the bundled Noto Sans SC in the PDF; report.css lists it after the
#: installed CJK fonts, so an installed Noto Sans CJK SC is preferred.
BUNDLED_FONT_FAMILY = "segkit Noto Sans SC"


def _font_css(font_config) -> list:
    """WeasyPrint stylesheet declaring the bundled CJK font (a local file).

    Given to WeasyPrint only: the published HTML names no local file and loads nothing.
    """
    from weasyprint import CSS

    from segkit.plots import bundled_cjk_font

    path = bundled_cjk_font()
    if path is None:
        return []
    rule = f'@font-face {{ font-family: "{BUNDLED_FONT_FAMILY}"; src: url("{path.as_uri()}"); }}'
    return [CSS(string=rule, font_config=font_config)]


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def embed_cjk_font(html: str) -> str:
    """``html`` with the bundled font, cut to the characters the page uses, embedded as WOFF2.

    A reader whose machine has no Chinese font (a fresh Linux desktop, a kiosk browser) would
    otherwise see boxes. The CSS lists the reader's own CJK fonts first, so the embedded one is
    only a fallback; a page without Chinese characters is returned unchanged.

    Examples
    --------
    >>> page = "<html><head></head><body>核心客户 48%</body></html>"
    >>> out = embed_cjk_font(page)
    >>> "@font-face" in out and "data:font/woff2;base64," in out
    True
    >>> embed_cjk_font("<html><head></head><body>Core 48%</body></html>").count("@font-face")
    0
    """
    import base64
    import io

    from fontTools import subset

    from segkit.plots import bundled_cjk_font

    path = bundled_cjk_font()
    if path is None or not _CJK.search(html):
        return html
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(html))))
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    rule = (f'<style>@font-face {{ font-family: "{BUNDLED_FONT_FAMILY}"; '
            f'src: url(data:font/woff2;base64,{data}) format("woff2"); }}</style>')
    return html.replace("</head>", rule + "</head>", 1)


def pdf_from_html(html: str, target: Path) -> None:
    """A4 PDF from the report HTML (WeasyPrint; fonts are embedded, subset).

    Chinese is set in an installed Noto Sans CJK SC (or another CJK font of report.css),
    else in the Noto Sans SC that segkit's dependency ships.
    """
    import logging

    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # CSS it ignores (e.g. overflow-x) is not news
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        font_config = FontConfiguration()
        HTML(string=html, base_url=str(target.parent)).write_pdf(
            str(target), stylesheets=_font_css(font_config), font_config=font_config)


# ------------------------------------------------------------------------------------------------
# the entry points


def default_quarter(data: str | Path | Dataset, config: str | Path | None = None):
    """The quarter a report shows by default and the data's as-of date: the latest complete
    quarter on or before the as-of date of :func:`segkit.io.load_dataset` (``dataset.yaml``'s
    ``as_of``, else the latest date in the data). ``data`` is a folder or a loaded Dataset.

    Returns
    -------
    (str, Timestamp)

    Examples
    --------
    >>> default_quarter("data/sample")[0]
    '2026Q3'
    """
    from segkit.io import load_dataset
    from segkit.periods import latest_complete_quarter

    ds = data if isinstance(data, Dataset) else load_dataset(data, config=config)
    return latest_complete_quarter(ds.as_of), ds.as_of


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def render(
    name: str,
    quarter: str | None = None,
    *,
    data_dir: str | Path = "data/sample",
    config: str | Path | None = None,
    lang: str = "zh",
    owner: str | None = None,
    department: str | None = None,
    mask_pii: bool | None = None,
    formats: Sequence[str] = FORMATS,
    out: str | Path = "reports",
    notebook_dir: str | Path | None = None,
    progress: bool | None = None,
    cache_dir: str | Path | None = None,
    **params,
) -> RenderResult:
    """Execute a report notebook and publish it as HTML and PDF.

    Parameters
    ----------
    name : {"quarterly", "churn"}
        The quarterly segmentation report or the churn-prediction report.
    quarter : str, optional
        Like ``"2026Q3"``; default: the latest complete quarter of the data.
    data_dir : path, default "data/sample"
    config : path, optional
        A segkit YAML configuration.
    lang : {"zh", "en"}, default "zh"
    owner, department : str, optional
        Scope the report to one sales owner or one department (only their customers).
    mask_pii : bool, optional
        Mask contact names, phones, e-mails and credit codes. Default: masked unless the
        report is scoped to an owner (who may see their own customers' contacts).
    formats : sequence of {"html", "pdf"}, default both
    out : path, default "reports"
    notebook_dir : path, optional
        Where the report notebooks are (default: the ones installed with segkit).
    progress : bool, optional
        Show a progress bar (default: when writing to a terminal).
    cache_dir : path, optional
        A run cache folder (:mod:`segkit.reporting.run_cache`) the notebook's kernel reads and
        writes through ``SEGKIT_RUN_CACHE``: renders that share one train the churn model once.
        ``segkit report`` passes ``<out>/.segkit-cache``. Default: none (the kernel computes
        everything).
    **params
        Further notebook parameters.

    Returns
    -------
    RenderResult
        ``.paths`` maps ``"ipynb"``, ``"html"``, ``"pdf"`` to the published files;
        ``.side_files`` lists the files the notebook wrote beside them (the quarterly report's
        XLSX lists, in ``<quarter>/<report>[-<scope>]-lists/``).

    Raises
    ------
    ReportError
        Naming the notebook cell and the cause; nothing new is published.

    Examples
    --------
    >>> from segkit.reporting import render
    >>> render("quarterly", "2026Q3", lang="en").paths["html"]   # doctest: +SKIP
    PosixPath('reports/2026Q3/quarterly-en.html')
    """
    from tqdm.auto import tqdm

    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    if owner is not None and department is not None:
        raise ValueError("scope a report to an owner or to a department, not both")
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; formats: {', '.join(FORMATS)}")
    notebook = find_notebook(name, notebook_dir)
    check_output_folder(out, "out")
    quarter = parse_quarter(quarter) if quarter is not None else None  # strict, before any folder is made
    data_dir = Path(data_dir).resolve()
    from segkit.io import DATABASE_SUFFIXES

    if not (data_dir.is_dir() or (data_dir.is_file() and data_dir.suffix.lower() in DATABASE_SUFFIXES)):
        raise ReportError(f"data folder (or DuckDB file: {', '.join(DATABASE_SUFFIXES)}) not found: {data_dir}")
    quarter = quarter or default_quarter(data_dir, config)[0]
    scope = owner if owner is not None else department
    if mask_pii is None:
        mask_pii = owner is None
    parameters = {
        "quarter": quarter, "data_dir": str(data_dir), "config": str(Path(config).resolve()) if config else None,
        "lang": lang, "owner": owner, "department": department, "mask_pii": bool(mask_pii), **params,
    }
    final = {fmt: report_path(out, quarter, name, lang, scope, fmt) for fmt in ("ipynb", *formats)}
    final_dir = final["ipynb"].parent
    # staged beside the nearest folder that exists (same file system, so publishing is a
    # rename); the report's folders are created only when everything succeeded
    staging_root = _existing_ancestor(final_dir)
    steps = ["execute", *formats, "publish"]
    bar = tqdm(total=len(steps), desc=f"{name} {quarter} {lang}{' ' + scope if scope else ''}", disable=None if progress is None else not progress, leave=False)
    with tempfile.TemporaryDirectory(prefix=f".segkit-{name}-", dir=staging_root) as tmp:
        staged = {fmt: Path(tmp) / path.name for fmt, path in final.items()}
        # side files the notebook writes (the quarterly report's XLSX lists), published with it
        # into <quarter>/<report>[-<scope>]-lists/: the same for both languages, apart per scope
        side_dir = Path(tmp) / "side"
        if "side_dir" in notebook.read_text(encoding="utf-8"):
            parameters["side_dir"] = str(side_dir)
        bar.set_postfix_str("executing notebook")
        with _run_cache_env(cache_dir):
            nb = _execute(notebook, staged["ipynb"], parameters, cwd=notebook.parent)
        bar.update()
        html = None
        if "html" in formats or "pdf" in formats:
            html = html_from_notebook(nb, title=_title(nb, name, lang), lang=lang)
        if "html" in formats:
            staged["html"].write_text(html, encoding="utf-8")
            bar.update()
        if "pdf" in formats:
            bar.set_postfix_str("PDF")
            try:
                pdf_from_html(html, staged["pdf"])
            except Exception as exc:
                raise ReportError(f"{notebook.name}: PDF could not be written: {type(exc).__name__}: {exc}") from exc
            bar.update()
        final_dir.mkdir(parents=True, exist_ok=True)  # all steps succeeded: publish
        for fmt, path in staged.items():
            os.replace(path, final[fmt])
        side_files = []
        if side_dir.is_dir():
            lists_dir = final_dir / f"{final['ipynb'].stem.rsplit('-', 1)[0]}-lists"
            lists_dir.mkdir(exist_ok=True)
            for path in side_dir.iterdir():
                os.replace(path, lists_dir / path.name)
                side_files.append(lists_dir / path.name)
        bar.update()
    bar.close()
    return RenderResult(name=name, quarter=quarter, lang=lang, scope=scope, paths=final, side_files=side_files)


@contextlib.contextmanager
def _run_cache_env(cache_dir: str | Path | None):
    """``SEGKIT_RUN_CACHE`` set to ``cache_dir`` (absolute: the kernel runs elsewhere) while
    the kernel starts, or removed, so the kernel inherits exactly this run's cache."""
    from segkit.reporting.run_cache import ENV

    before = os.environ.get(ENV)
    if cache_dir is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = str(Path(cache_dir).absolute())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def _title(nb: nbformat.NotebookNode, name: str, lang: str) -> str:
    title = nb.metadata.get("segkit", {}).get("title")
    return title or TITLES[(name, lang)]


def render_departments(
    name: str,
    departments: Iterable[str] | None = None,
    **kwargs,
) -> tuple[list[RenderResult], dict[str, str]]:
    """Render one report per department; continue past failures.

    Returns the results and a mapping ``department -> error message`` for those that failed.
    """
    if departments is None:
        from segkit.io import load_dataset

        ds = load_dataset(kwargs.get("data_dir", "data/sample"))
        departments = sorted(ds.customers["department"].dropna().unique())
    departments = list(departments)
    by_file: dict[str, list[str]] = {}
    for department in departments:
        by_file.setdefault(_slug(department).casefold(), []).append(str(department))
    shared = [names for names in by_file.values() if len(names) > 1]
    if shared:  # one report would overwrite another (also on file systems that ignore case)
        raise ValueError(f"departments {shared[0]} would share one report file name; rename one of them")
    results, failures = [], {}
    for department in departments:
        try:
            results.append(render(name, department=department, **kwargs))
        except (ReportError, ValueError) as exc:
            failures[department] = str(exc)
    return results, failures
