"""The context of one report: a :class:`~segkit.reporting.run.QuarterRun` and a language.

The run (:mod:`segkit.reporting.run`) computes the numbers once, in no language: data,
snapshots, tiers, models, scores, the backtest. A :class:`ReportContext` is that run plus the
language the report is written in: its words (``segkit/defaults/report.yaml``), the sentences
that say what a section leaves out, and how the tier lines were set. Report notebooks build
one from their parameters (:func:`report_context`); :meth:`ReportContext.of` gives a run's
context in a language, sharing what the run computed (both languages of one run in one
process compute everything once).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from segkit.config import default_section
from segkit.reporting.run import QuarterRun

__all__ = ["QuarterRun", "ReportContext", "report_context", "words"]


def words(lang: str) -> dict[str, str]:
    """The report's words in ``lang`` (``segkit/defaults/report.yaml``)."""
    table = default_section("report")
    if lang not in table:
        raise ValueError(f"unknown language {lang!r}; reports exist in: {', '.join(table)}")
    return table[lang]


@dataclass
class ReportContext(QuarterRun):
    """A run (:class:`~segkit.reporting.run.QuarterRun`) and the words of the report's language.

    Parameters
    ----------
    quarter, data_dir, config, owner, department, mask_pii, generated, cache_dir
        Those of :class:`~segkit.reporting.run.QuarterRun`.
    lang : {"zh", "en"}, default "zh"
        The report's language.

    Examples
    --------
    >>> run = QuarterRun("2026Q3", "data/sample")
    >>> en = ReportContext.of(run, "en")
    >>> en.lang, en.quarter, en.words["and"]
    ('en', '2026Q3', ' and ')
    """

    lang: str = "zh"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.words = words(self.lang)

    @classmethod
    def of(cls, run: QuarterRun, lang: str) -> ReportContext:
        """``run`` in ``lang``: the same parameters, and what the run has computed so far
        (tables, fitted models) shared, not computed again."""
        params = {f.name: getattr(run, f.name) for f in fields(QuarterRun) if f.init}
        ctx = cls(**params, lang=lang)
        shared = {name: value for name, value in vars(run).items() if name not in params and name != "words"}
        vars(ctx).update(shared)  # cached tables and the dict of fitted models (the same objects)
        return ctx

    def _describe_thresholds(self, thresholds: Any) -> dict[str, str]:
        """How the lines were set, in every language, for the terminal (the edge's words)."""
        from segkit.labels import LANGS

        return {lang: thresholds.describe(lang) for lang in LANGS} if thresholds is not None else {}

    @property
    def parameters(self) -> dict[str, Any]:
        return {**super().parameters, "lang": self.lang}

    def left_out(self, what: str, *needs: str) -> str:
        """One sentence: ``what`` is left out and which data would enable it."""
        w = self.words
        fields = {"previous_quarter": self.previous_quarter, "previous_start": pd.Period(self.previous_quarter, freq="Q").start_time.date()}
        texts = [w[f"need_{need}"].format(**fields) for need in needs]
        joined = w["and"].join(texts)
        return w["left_out"].format(what=what, needs=joined)

    def churn_left_out(self, what: str, model: str = "churn_model") -> str:
        """One sentence: why ``what`` cannot be computed (orders too short for a churn model)."""
        from segkit.insights.churn import history_needed, load_churn_config

        _, _, when = self.churn_history(model)
        months = load_churn_config(self.user_config).training.min_history_months
        from segkit.engine import first_order_date

        first = first_order_date(self.dataset_full, positive=False)
        return self.words["churn_too_short"].format(
            what=what, date=when.date(), needed=history_needed(when, config=self.user_config).date(), months=months,
            first=first.date() if pd.notna(first) else "—")

    # --- snapshots and segmentation --------------------------------------------------------------


    def money(self, value: float) -> str:
        """An amount for people, in the report's language and the data's currency."""
        from segkit.reporting.blocks import fmt_money

        return fmt_money(value, self.lang, currency=self.currency)




def report_context(
    quarter: str,
    data_dir: str | Path = "data/sample",
    config: str | Path | None = None,
    lang: str = "zh",
    owner: str | None = None,
    department: str | None = None,
    mask_pii: bool | None = None,
    cache_dir: str | Path | None = None,
) -> ReportContext:
    """The context of one report (what a report notebook's parameters describe).

    ``cache_dir`` is a run cache folder shared by the notebooks of one run; default the one
    ``segkit report`` names in ``SEGKIT_RUN_CACHE``, else none (everything computed here).

    Examples
    --------
    >>> ctx = report_context("2026Q3", "data/sample", lang="en")
    >>> ctx.as_of.date(), ctx.previous_quarter
    (datetime.date(2026, 9, 30), '2026Q2')
    """
    if mask_pii is None:
        mask_pii = owner is None
    return ReportContext(
        quarter=quarter, data_dir=Path(data_dir), config=Path(config) if config else None,
        owner=owner, department=department, mask_pii=bool(mask_pii), cache_dir=Path(cache_dir) if cache_dir else None,
        lang=lang,
    )
