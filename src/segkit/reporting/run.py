"""The run object: everything one quarter's reports compute, once.

A :class:`QuarterRun` holds the parameters of a run (quarter, data, configuration, scope) and
computes from them, lazily and cached, the data, snapshots, tiers, models, scores and the
backtest. Both reports (quarterly and churn) and both languages use it: the models, the
backtest and the scores are trained or computed once per run and, when the run has a run cache
(:mod:`segkit.reporting.run_cache`: ``segkit report`` gives one to its notebooks), read by the
run's other notebooks instead of being computed again. Models (CLV, churn) are fitted on the
whole population and shown for the customers in scope: a department's report uses the
company's model, not one fitted on a few hundred customers.

Numbers and keys only, in no language: the run is the same for a Chinese and an English
report, and so are its run-cache entries. Words for people are added at the edge
(:class:`~segkit.reporting.context.ReportContext`, a run and a language, and
:mod:`segkit.reporting.display`).
This module is long because it is one object: every property is a few lines that call the
segkit function computing it and cache the result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from segkit._version import __version__
from segkit.config import Settings

__all__ = ["QuarterRun"]


@dataclass
class QuarterRun:
    """One quarter's run: its parameters and the tables computed from them (lazily, once).

    Parameters
    ----------
    quarter : str
        Like ``"2026Q3"``.
    data_dir : path
        The data folder (or DuckDB file).
    config : path or Settings, optional
        A segkit YAML configuration, or a :class:`~segkit.config.Settings` read from one; the
        run reads the file once and hands the same Settings to every step.
    owner, department : str, optional
        Scope: only this owner's or department's customers are shown.
    mask_pii : bool, default True
    generated : date, default today
    cache_dir : path, optional
        Run cache folder; None: the one named by ``SEGKIT_RUN_CACHE``, if any.

    Examples
    --------
    >>> run = QuarterRun("2026q3", "data/sample")
    >>> run.quarter, run.as_of.date(), run.previous_quarter
    ('2026Q3', datetime.date(2026, 9, 30), '2026Q2')
    """

    quarter: str
    data_dir: Path | str
    config: Path | Settings | None = None
    owner: str | None = None
    department: str | None = None
    mask_pii: bool = True
    generated: dt.date = field(default_factory=dt.date.today)
    #: Run cache folder; None: the one named by ``SEGKIT_RUN_CACHE``, if any (see run_cache).
    cache_dir: Path | None = None
    _churn_models: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _settings: Settings | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from segkit.periods import quarter_end

        self.quarter = self.quarter.upper()
        self.as_of = quarter_end(self.quarter)
        self.previous_quarter = str(pd.Period(self.quarter, freq="Q") - 1)
        self.previous_as_of = quarter_end(self.previous_quarter)
        self.data_dir = Path(self.data_dir)
        if isinstance(self.config, Settings):  # one Settings for the whole run; its file names errors
            self._settings, self.config = self.config, self.config.path
        elif self.config is not None:
            self.config = Path(self.config)
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)

    # --- data -----------------------------------------------------------------------------------
    @cached_property
    def dataset_full(self):
        from segkit.io import load_dataset

        ds = load_dataset(self.data_dir, config=self.user_config)
        if self.as_of > ds.as_of:
            raise ValueError(
                f"quarter {self.quarter} ends on {self.as_of.date()}, after the data's as-of date "
                f"{ds.as_of.date()}; choose a complete quarter"
            )
        return ds

    @cached_property
    def dataset(self):
        """The data in scope (an owner's or a department's customers, or everything)."""
        from segkit.access import scope

        if self.owner is None and self.department is None:
            return self.dataset_full
        return scope(self.dataset_full, owner=self.owner, department=self.department)

    @cached_property
    def ids(self) -> pd.Index:
        return pd.Index(self.dataset.customers["customer_id"].astype(str))

    @property
    def scoped(self) -> bool:
        return self.owner is not None or self.department is not None

    def in_scope(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of a customer-indexed table that belong to the scope."""
        return frame.loc[frame.index.intersection(self.ids)]

    # --- what the data allow ---------------------------------------------------------------------
    def has(self, what: str) -> bool:
        """Whether the data hold what a section needs.

        ``what`` is a table (``interactions``, ``surveys``, ...), a customer column
        (``industry``, ``region``, ``owner``, ``record_updated``, ...) or an order column
        (``product_line``), which must have at least one value; ``previous`` (orders cover the
        whole previous quarter), ``churn_model`` and ``previous_churn_model`` (enough quarter
        ends to train the churn model for this / the previous quarter end) or ``backtest``.
        """
        from segkit.schema import TABLES

        ds = self.dataset_full
        if what in TABLES:
            return ds.has(what)
        if what == "previous":
            from segkit.engine import first_order_date

            first = first_order_date(ds, positive=False)
            return pd.notna(first) and first <= pd.Period(self.previous_quarter, freq="Q").start_time
        if what in ("churn_model", "previous_churn_model", "backtest"):
            return self.churn_history(what)[0] >= self.churn_history(what)[1]
        from segkit.engine import column_has_values

        for table in ("customers", "transactions"):
            found = column_has_values(ds, table, what) if what != "customer_id" else None
            if found is not None:
                return found
        raise ValueError(f"unknown data need {what!r}")

    def churn_history(self, what: str = "churn_model") -> tuple[int, int, pd.Timestamp]:
        """(quarter ends available to train on, quarter ends needed, date the model is for)."""
        from segkit.insights.churn import training_dates

        when = {"churn_model": self.as_of, "previous_churn_model": self.previous_as_of, "backtest": self.previous_as_of}[what]
        return len(training_dates(self.dataset_full, when, config=self.user_config)), 1, when

    @cached_property
    def snapshot_all(self) -> pd.DataFrame:
        from segkit.features import snapshot

        return snapshot(self.dataset_full, self.as_of)

    @cached_property
    def previous_snapshot_all(self) -> pd.DataFrame:
        from segkit.features import snapshot

        return snapshot(self.dataset_full, self.previous_as_of)

    @property
    def snapshot(self) -> pd.DataFrame:
        return self.in_scope(self.snapshot_all)

    @cached_property
    def tiers_all(self) -> pd.DataFrame:
        from segkit.segment.tiers import assign_tiers

        tiers = assign_tiers(self.snapshot_all, config=self.user_config, as_of=self.as_of)
        self._share_tier_health(tiers)
        return tiers

    def _share_tier_health(self, tiers: pd.DataFrame) -> None:
        """Leave the tier health (and, from a report's context, how the lines were set in every
        language) in the run cache, for the ``segkit report`` command that prints it on the terminal."""
        cache = self.run_cache
        if cache is None:
            return
        from segkit.reporting.run_cache import tier_health_key

        cache.store(tier_health_key(self.quarter, self.data_dir, self.config), {},
                    {"health": tiers.attrs.get("health") or {}, "describe": self._describe_thresholds(tiers.attrs.get("thresholds"))})

    def _describe_thresholds(self, thresholds: Any) -> dict[str, str]:
        """How the lines were set, in words, by language: none in a run (words are the edge's;
        :class:`~segkit.reporting.context.ReportContext` says it in every language)."""
        return {}

    @property
    def thresholds(self):
        """The lines this quarter's tiers were assigned with (numbers and how they were set);
        last quarter's tiers, CLV tiers and the report's sentences use the same."""
        return self.tiers_all.attrs["thresholds"]

    @property
    def currency(self) -> str:
        """ISO code of the data's amounts (``dataset.yaml``'s ``currency``, default CNY)."""
        return self.dataset_full.currency

    @property
    def tier_health(self) -> dict:
        """:func:`~segkit.segment.thresholds.tier_health` of this quarter's tiers (computed with them)."""
        return self.tiers_all.attrs["health"]

    @cached_property
    def previous_tiers_all(self) -> pd.DataFrame:
        from segkit.segment.tiers import assign_tiers

        # last quarter measured with this quarter's lines: with lines derived from the data
        # (relative mode) migration must show customers moving, not the lines
        return assign_tiers(self.previous_snapshot_all, config=self.user_config, as_of=self.previous_as_of,
                            thresholds=self.thresholds)

    @property
    def tiers(self) -> pd.DataFrame:
        return self.in_scope(self.tiers_all)

    @property
    def previous_tiers(self) -> pd.DataFrame:
        previous_ids = self.previous_tiers_all.index.intersection(self.ids)
        return self.previous_tiers_all.loc[previous_ids]

    @cached_property
    def rfm(self) -> pd.DataFrame:
        from segkit.segment.rfm import rfm_scores

        return self.in_scope(rfm_scores(self.snapshot_all, scheme="quantile", config=self.user_config))

    @cached_property
    def rfm_named(self) -> pd.DataFrame:
        from segkit.segment.rfm import rfm_scores

        return self.in_scope(rfm_scores(self.snapshot_all, scheme="named", config=self.user_config))

    @cached_property
    def migration(self):
        from segkit.insights.migration import migration

        # each quarter's own 12-month revenue: current customers counted with this quarter's,
        # lost ones with last quarter's
        return migration(
            self.previous_tiers, self.tiers, config=self.user_config,
            snapshots=(self.in_scope(self.previous_snapshot_all), self.snapshot),
        )

    # --- value ---------------------------------------------------------------------------------------
    @cached_property
    def clv_models(self):
        """BG/NBD and Gamma-Gamma fitted on every customer with an order (whole population)."""
        from segkit.models import BetaGeo, GammaGamma

        stats = self.snapshot_all.dropna(subset=["frequency", "recency", "T"])
        purchase = BetaGeo().fit(stats["frequency"], stats["recency"], stats["T"])
        repeat = stats.loc[stats["frequency"] > 0]
        spend = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
        return purchase, spend

    @cached_property
    def clv_all(self) -> pd.DataFrame:
        """Predicted CLV, historical CLV and CLV tiers for every customer."""
        import warnings

        from segkit.models.clv import clv, clv_tiers, historical_clv, load_config

        purchase, spend = self.clv_models
        stats = self.snapshot_all.dropna(subset=["frequency", "recency", "T"])
        stats = stats.loc[stats["T"] > 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the correlation note of Gamma-Gamma is in the method text
            predicted = clv(stats, purchase, spend, observation_end=self.as_of, config=self.user_config)
        cfg = load_config(self.user_config)
        frame = pd.DataFrame(index=self.snapshot_all.index)
        frame["clv"] = predicted["clv"].reindex(frame.index).fillna(0.0)
        ds = self.dataset_full
        if ds._as_stored():  # summed where the orders are, without bringing them into pandas
            from segkit.engine import order_windows
            from segkit.models.clv import historical_window

            hist = cfg.margin * order_windows(ds, {"12m": historical_window(self.as_of)})["revenue_12m"]
        else:
            hist = historical_clv(ds.transactions, self.as_of, config=self.user_config)
        frame["historical_clv"] = hist.reindex(frame.index).fillna(0.0)
        frame["revenue_12m"] = self.snapshot_all["revenue_12m"]
        # the same lines as the relationship tiers (derived from the data for non-yuan money)
        tiers = clv_tiers(frame, config=self.user_config, thresholds=self.thresholds)
        frame = frame.join(tiers[["clv_tier"]])
        frame.attrs.update({"margin": cfg.margin, "annual_discount_rate": cfg.annual_discount_rate, "horizon": cfg.horizon})
        return frame

    @cached_property
    def clv_total_interval(self):
        """Total predicted CLV of the scope's customers with its interval
        (:func:`~segkit.models.clv.clv_interval`, settings of the ``clv`` section), or the
        reason it has none (a ``str``)."""
        import warnings

        from segkit.models.clv_interval import clv_interval

        purchase, spend = self.clv_models
        stats = self.in_scope(self.snapshot_all.dropna(subset=["frequency", "recency", "T"]))
        stats = stats.loc[stats["T"] > 0]  # as clv_all
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # as clv_all
                return clv_interval(stats, purchase, spend, observation_end=self.as_of,
                                    config=self.user_config, progress=False)
        except ValueError as exc:  # e.g. the spend model's q within sampling error of 1
            return str(exc)

    @cached_property
    def clv_problem(self) -> str | None:
        """Why the purchase and spend models cannot be fitted on these data, or None."""
        from segkit.models._optim import ConvergenceError

        try:
            self.clv_models
        except (ValueError, ConvergenceError) as exc:
            return str(exc)
        return None

    @cached_property
    def btyd_forecast_all(self) -> pd.DataFrame:
        """BG/NBD expected purchases over the next quarter and the model's chance of none
        (:meth:`~segkit.models.BetaGeo.probability_no_purchases`, the backtest's BTYD
        baseline), for customers who ordered in the last 12 months; most likely to buy
        nothing first, then by 12-month revenue."""
        import numpy as np

        from segkit.periods import horizon_end

        purchase, _ = self.clv_models
        snap = self.snapshot_all
        active = snap.loc[(snap["orders_12m"] > 0) & snap["T"].notna()]
        unit_days = 7.0 if snap.attrs.get("btyd_unit", "W") == "W" else 1.0
        t = (horizon_end(self.as_of, "1Q") - self.as_of).days / unit_days
        history = (active["frequency"].to_numpy(), active["recency"].to_numpy(), active["T"].to_numpy())
        expected = np.asarray(purchase.expected_purchases(t, *history), dtype=float)
        p_none = np.asarray(purchase.probability_no_purchases(t, *history), dtype=float)
        out = pd.DataFrame({"name": active["name"], "revenue_12m": active["revenue_12m"], "expected_purchases": expected,
                            "p_no_purchase": p_none}, index=active.index)
        return out.sort_values(["p_no_purchase", "revenue_12m"], ascending=[False, False], kind="stable")

    # --- renewals -----------------------------------------------------------------------------------
    @cached_property
    def renewal_history_all(self) -> pd.DataFrame:
        """:func:`~segkit.insights.renewals.renewal_history` of every customer's contracts at
        this quarter end, with the ``tier`` of each relationship: the tier now for a current
        customer; for one who left, her tier at the quarter end on or before ``tier_date`` (a
        period before she left; none when that is before the first order), measured with this
        quarter's lines. Computed once per run (the run cache), for every language.
        """
        from segkit.insights.renewals import renewal_history

        cache = self.run_cache
        key = self._churn_key("renewals", self.as_of) if cache is not None else None
        found = cache.load(key) if cache is not None else None
        if found is not None:
            return found[0]["history"]
        history = renewal_history(self.dataset_full.contracts, self.as_of, config=self.user_config)
        history["tier"] = self._tiers_on(history["customer_id"], history["tier_date"])
        if cache is not None:
            cache.store(key, {"history": history})
        return history

    def _tiers_on(self, customers: pd.Series, dates: pd.Series) -> pd.Series:
        """The tier of each customer at the quarter end on or before her date (NaN before the
        first quarter end with an order)."""
        from segkit.engine import first_order_date
        from segkit.features import snapshot
        from segkit.segment.tiers import assign_tiers

        quarter_ends = (dates + pd.Timedelta(days=1)).dt.to_period("Q").sub(1).dt.end_time.dt.normalize()
        quarter_ends = quarter_ends.where(dates < self.as_of, self.as_of)
        first = first_order_date(self.dataset_full, positive=False)
        out = pd.Series(index=customers.index, dtype="object")
        for when in sorted(quarter_ends.unique()):
            if pd.isna(first) or when < first:
                continue
            if when == self.as_of:
                tiers = self.tiers_all["tier"]
            else:
                tiers = assign_tiers(snapshot(self.dataset_full, when), config=self.user_config, as_of=when,
                                     thresholds=self.thresholds)["tier"]
            at = quarter_ends == when
            out[at] = customers[at].astype(str).map(tiers.rename(index=str)).to_numpy()
        return out

    @cached_property
    def renewals(self):
        """:func:`~segkit.insights.renewals.renewal_by_tier` of :attr:`renewal_history_all`:
        fitted on every customer's relationships, shown for the customers in scope."""
        from segkit.insights.renewals import renewal_by_tier
        from segkit.segment.tiers import load_tiers_config

        order = list(load_tiers_config(self.user_config).order)
        return renewal_by_tier(self.renewal_history_all, order=order, scope=self.ids if self.scoped else None,
                               config=self.user_config)

    # --- insights -----------------------------------------------------------------------------------
    @cached_property
    def kpi_by_tier(self) -> pd.DataFrame:
        from segkit.insights.kpi import kpis

        return kpis(self.dataset, self.as_of, by="tier", tiers=self.tiers, config=self.user_config)

    @cached_property
    def kpi_by_industry(self) -> pd.DataFrame:
        from segkit.insights.kpi import kpis

        return kpis(self.dataset, self.as_of, by="industry", tiers=self.tiers, config=self.user_config)

    @cached_property
    def cadence(self) -> pd.DataFrame:
        from segkit.insights.cadence import cadence_report

        return cadence_report(self.dataset, self.tiers, self.as_of, config=self.user_config)

    # --- churn model ---------------------------------------------------------------------------------
    @cached_property
    def run_cache(self):
        """The run's cache on disk (:class:`~segkit.reporting.run_cache.RunCache`), or None."""
        from segkit.reporting.run_cache import RunCache

        return RunCache(self.cache_dir) if self.cache_dir is not None else RunCache.from_env()

    @cached_property
    def _churn_key_parts(self) -> dict[str, Any]:
        ds = self.dataset_full
        return {"data": ds.fingerprint(), "data_as_of": ds.as_of.date().isoformat(), "config": self.config_hash,
                "horizon": "1Q", "definition": None}

    def _churn_key(self, kind: str, when: pd.Timestamp, **more: Any) -> str:
        from segkit.reporting.run_cache import cache_key

        return cache_key(kind=kind, as_of=pd.Timestamp(when).date().isoformat(), **self._churn_key_parts, **more)

    def churn_model(self, when: Any = None):
        """The churn model for ``when`` (default this quarter end), trained once.

        :func:`segkit.insights.churn.fit_churn_model` on the whole population: quarter ends whose
        outcome window has ended by ``when``, at most ``churn.training.max_training_rows``
        rows. The model for last quarter end, which scores last quarter and is the backtest's,
        has seen no outcome after last quarter end. Kept per date in the context and, with a
        run cache, on disk for the run's other notebooks.
        """
        from segkit.insights.churn import fit_churn_model

        when = pd.Timestamp(self.as_of if when is None else when).normalize()
        if when not in self._churn_models:
            cache = self.run_cache
            key = self._churn_key("model", when) if cache is not None else None
            model = cache.load_model(key) if cache is not None else None
            if model is None:
                model = fit_churn_model(self.dataset_full, when, config=self.user_config, progress=False)
                if cache is not None:
                    cache.store_model(key, model)
            self._churn_models[when] = model
        return self._churn_models[when]

    @cached_property
    def backtest(self):
        """:func:`segkit.insights.churn.backtest_churn` at last quarter end, with the model
        :meth:`churn_model` trained for that date (read from the run cache when there)."""
        from segkit.insights.churn import ChurnBacktest, backtest_churn

        cache = self.run_cache
        key = self._churn_key("backtest", self.previous_as_of) if cache is not None else None
        found = cache.load(key) if cache is not None else None
        if found is not None:
            frames, meta = found
            return ChurnBacktest(**frames, **meta, model=self.churn_model(self.previous_as_of))
        bt = backtest_churn(self.dataset_full, test_as_of=self.previous_as_of, model=self.churn_model(self.previous_as_of),
                            config=self.user_config, progress=False)
        if cache is not None:
            frames = {"metrics": bt.metrics, "calibration": bt.calibration, "scores": bt.scores}
            meta = {name: getattr(bt, name) for name in ("train_as_of", "test_as_of", "outcome_end", "n_train", "n_train_available",
                                                         "bgnbd_params", "top_share", "horizon", "definition")}
            cache.store(key, frames, meta)
        return bt

    def _churn_scores(self, when: pd.Timestamp, tiers: str) -> pd.DataFrame:
        from segkit.insights.churn import score_churn

        cache = self.run_cache
        key = self._churn_key("scores", when) if cache is not None else None  # one entry for every language
        found = cache.load(key) if cache is not None else None
        if found is not None:
            return found[0]["scores"]
        scores = score_churn(self.dataset_full, self.churn_model(when), as_of=when, tiers=getattr(self, tiers), config=self.user_config,
                             progress=False)
        if cache is not None:
            cache.store(key, {"scores": scores})
        return scores

    @cached_property
    def churn_scores_all(self) -> pd.DataFrame:
        return self._churn_scores(self.as_of, "tiers_all")

    @cached_property
    def previous_churn_scores_all(self) -> pd.DataFrame:
        """Last quarter's scores: probabilities and risk levels."""
        return self._churn_scores(self.previous_as_of, "previous_tiers_all")

    def high_churn_risk(self, previous: bool = False) -> pd.Series:
        """Customers in scope the churn model puts at high risk (False for those not scored:
        no order in the past year)."""
        scores = self.previous_churn_scores_all if previous else self.churn_scores_all
        ids = (self.previous_tiers if previous else self.tiers).index
        return (scores["risk_level"] == "high").reindex(ids, fill_value=False).astype(bool)

    @property
    def churn_scores(self) -> pd.DataFrame:
        return self.in_scope(self.churn_scores_all)

    @cached_property
    def churn_features(self) -> pd.DataFrame:
        """The features this quarter's model scored every scored customer on
        (:func:`~segkit.insights.churn.scoring_features`): what the drivers and the reasons
        of a list are read from."""
        from segkit.insights.churn import scoring_features

        return scoring_features(self.snapshot_all, self.churn_scores_all.index, self.churn_model(), self.user_config)

    @cached_property
    def churn_card(self):
        """:func:`~segkit.insights.churn.model_card` of the backtest and this quarter's scores in
        scope: base rate, test size, ROC AUC and its interval, the threshold and how it was
        chosen, precision and recall there, customers flagged against churners expected."""
        from segkit.insights.churn import model_card

        scores = self.churn_scores
        scores.attrs = dict(self.churn_scores_all.attrs)  # in_scope's .loc keeps the rows, not always the attrs
        return model_card(self.backtest, scores, config=self.user_config)

    @cached_property
    def churn_actions(self) -> pd.DataFrame:
        """:func:`~segkit.insights.actions.action_list` of the customers in scope the model card
        flags (probability at or above its threshold), the largest value at stake first."""
        from segkit.insights.actions import action_list

        scores = self.churn_scores
        return action_list(scores, self.tiers, self.snapshot, as_of=self.as_of, threshold=self.churn_card.threshold,
                           config=self.user_config)

    # --- provenance ----------------------------------------------------------------------------------
    @property
    def user_config(self) -> Settings:
        """The run's configuration, read and checked once (:class:`~segkit.config.Settings`);
        every analysis call of the run takes it, and errors name the file."""
        return self.settings

    @cached_property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else Settings(self.config)

    @property
    def config_hash(self) -> str:
        """Fingerprint of the effective configuration (defaults merged with the user's)."""
        return self.settings.fingerprint

    @property
    def parameters(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter, "data": self.data_dir.name,
            "config": self.config.name if self.config else None, "owner": self.owner,
            "department": self.department, "mask_pii": self.mask_pii,
        }

    @property
    def version(self) -> str:
        return __version__
