"""RFM scores and segments (business-rules.md section 5).

Three schemes ship in ``segkit/defaults/rfm.yaml``:

``quantile``
    R, F, M scored 1-5 by rank among the customers who ordered (recency_days, orders_total,
    revenue_total); segments are bands of the total score.
``handbook``
    The annual handbook's thresholds with 3-2-1 points: R from days since the last order
    (<= 30 / 60 / 90), F from monthly orders (orders_12m / 12: >= 5 / >= 1 / below 1),
    M from the cumulative amount (>= 100,000 / >= 50,000 / below); total >= 8 core 核心客户,
    5-7 potential 潜力客户, <= 4 dormant 沉睡客户; plus the named groups (high value,
    potential, churn risk) in ``rfm_group``.
``named``
    Quintile scores with the widely used named segments (champions, loyal, ..., lost) as a
    score map, first match wins, anything else ``other``.

Quantile scores give equal values the same score (average rank), so results never depend on
row order; the score of a value is ``1 + floor((rank - 0.5) / n * bins)``, which splits
distinct values into equal groups. Customers who never ordered are not scored (segment
``no_orders``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from segkit.config import ConfigError, StrictModel, _describe, config_hash, load_section, register_section, read_yaml_mapping
from segkit.errors import RFMWarning  # defined with every segkit error; importable here as before
from segkit.features import SNAPSHOT_COLUMNS
from segkit.labels import check_lang
from segkit.segment._expr import ExpressionError, parse
from segkit.segment.thresholds import default_thresholds, resolve_thresholds
from segkit.segment.rules import ConfigItem
from segkit.segment.tiers import section_source

__all__ = ["RFMConfig", "RFMScheme", "RFMWarning", "load_rfm_config", "rfm_scores", "explain_rfm", "quantile_scores"]

SCORE_NAMES = ("r_score", "f_score", "m_score", "rfm_points")


class Level(ConfigItem):
    score: int
    # a number or the name of a line of the thresholds section (e.g. spend_high_total)
    min: float | str | None = None
    max: float | str | None = None


class ScoreSpec(ConfigItem):
    measure: str
    higher_is_better: bool = True
    levels: list[Level] | None = None
    otherwise: int | None = None


class SegmentRule(ConfigItem):
    key: str
    when: str
    zh: str
    en: str


class SegmentLabel(ConfigItem):
    key: str
    zh: str
    en: str


class RFMScheme(ConfigItem):
    """One RFM scheme: how R, F and M are scored and how segments are named."""

    method: Literal["quantile", "thresholds"]
    bins: int = Field(5, ge=2, le=9)
    eligible: str = "true"
    recency: ScoreSpec
    frequency: ScoreSpec
    monetary: ScoreSpec
    segments: list[SegmentRule] = Field(min_length=1)
    other: SegmentLabel
    no_orders: SegmentLabel
    groups: list[SegmentRule] | None = None
    group_other: SegmentLabel | None = None


@register_section("rfm")
class RFMConfig(StrictModel):
    """The ``rfm`` configuration section."""

    default_scheme: str
    schemes: dict[str, RFMScheme]
    extra_columns: list[str] = []


def _check_scheme(name: str, scheme: RFMScheme, columns: list[str]) -> None:
    where = f"rfm.schemes.{name}"
    known = sorted(default_thresholds().values)
    for dim in ("recency", "frequency", "monetary"):
        for i, level in enumerate(getattr(scheme, dim).levels or []):
            for bound in (level.min, level.max):
                if isinstance(bound, str) and bound not in known:
                    raise ConfigError(f"{where}.{dim}.levels[{i}]: unknown line {bound!r}; known lines: {known}")
    try:
        parse(scheme.eligible, columns, kind="rule", where=f"{where}.eligible")
        for dim in ("recency", "frequency", "monetary"):
            spec: ScoreSpec = getattr(scheme, dim)
            parse(spec.measure, columns, kind="measure", where=f"{where}.{dim}.measure")
            if scheme.method == "thresholds":
                if not spec.levels or spec.otherwise is None:
                    raise ConfigError(f"{where}.{dim}: method 'thresholds' needs `levels` and `otherwise`")
                for i, level in enumerate(spec.levels):
                    if (level.min is None) == (level.max is None):
                        raise ConfigError(f"{where}.{dim}.levels[{i}]: give exactly one of `min` or `max`")
            elif spec.levels:
                raise ConfigError(f"{where}.{dim}.levels: only method 'thresholds' uses levels")
        for kind in ("segments", "groups"):
            for i, rule in enumerate(getattr(scheme, kind) or []):
                parse(rule.when, SCORE_NAMES, kind="rule", where=f"{where}.{kind}[{i}].when")
    except ExpressionError as exc:
        raise ConfigError(str(exc)) from None
    if scheme.groups and scheme.group_other is None:
        raise ConfigError(f"{where}.group_other: needed when `groups` are set")


@lru_cache(maxsize=1)
def _default_rfm_config() -> RFMConfig:
    return load_rfm_config({})


def load_rfm_config(config: str | Path | Mapping[str, Any] | RFMConfig | None = None) -> RFMConfig:
    """The ``rfm`` section: package defaults overridden by ``config``, validated.

    Examples
    --------
    >>> sorted(load_rfm_config().schemes)
    ['handbook', 'named', 'quantile']
    >>> load_rfm_config({"rfm": {"schemes": {"quantile": {"bins": 1}}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'rfm' configuration:
      - schemes.quantile.bins: Input should be greater than or equal to 2 (got 1)
    """
    config = section_source("rfm", config)
    if config is None:
        return _default_rfm_config().model_copy(deep=True)
    cfg = config if isinstance(config, RFMConfig) else load_section("rfm", RFMConfig, config)
    columns = [*SNAPSHOT_COLUMNS, *cfg.extra_columns]
    for name, scheme in cfg.schemes.items():
        _check_scheme(name, scheme, columns)
    if cfg.default_scheme not in cfg.schemes:
        raise ConfigError(f"rfm.default_scheme: unknown scheme {cfg.default_scheme!r}; schemes: {sorted(cfg.schemes)}")
    return cfg


def _resolve_scheme(scheme: Any, config: Any) -> tuple[str, RFMScheme]:
    cfg = load_rfm_config(config)
    columns = [*SNAPSHOT_COLUMNS, *cfg.extra_columns]
    if isinstance(scheme, RFMScheme):
        _check_scheme("custom", scheme, columns)
        return "custom", scheme
    if isinstance(scheme, (Mapping, Path)) or (isinstance(scheme, str) and scheme.endswith((".yaml", ".yml"))):
        where = "the RFM scheme"
        if not isinstance(scheme, Mapping):
            path = Path(scheme)
            if not path.is_file():
                raise ConfigError(f"RFM scheme file not found: {path}")
            scheme, where = read_yaml_mapping(path, "one RFM scheme (its keys)"), str(path)
        try:
            spec = RFMScheme.model_validate(dict(scheme))
        except ValidationError as exc:
            raise ConfigError(_describe(exc, RFMScheme, where)) from None
        _check_scheme("custom", spec, columns)
        return "custom", spec
    name = cfg.default_scheme if scheme is None else scheme
    if name not in cfg.schemes:
        raise ConfigError(f"unknown RFM scheme {name!r}; schemes: {sorted(cfg.schemes)} (or a dict / YAML file with one scheme)")
    return name, cfg.schemes[name]


def quantile_scores(values: pd.Series, bins: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..bins by rank; equal values get equal scores; missing values get 1.

    The score is ``1 + floor((rank - 0.5) / n * bins)`` with average ranks, so ``n``
    distinct values fall into equal groups, ties never split, and the result does not depend
    on the order of the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> quantile_scores(pd.Series([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])).tolist()
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    >>> quantile_scores(pd.Series([3, 1, 2]), bins=3, higher_is_better=False).tolist()
    [1, 3, 2]
    >>> quantile_scores(pd.Series([7.0, 7.0, 7.0])).tolist()  # constant: the middle score
    [3, 3, 3]
    """
    values = pd.to_numeric(values, errors="coerce").astype(float)
    present = values.notna()
    n = int(present.sum())
    scores = pd.Series(1, index=values.index, dtype="int64")
    if n == 0:
        return scores
    signed = values[present] if higher_is_better else -values[present]
    ranks = signed.rank(method="average")
    raw = np.floor((ranks.to_numpy() - 0.5) / n * bins).astype(int) + 1
    scores[present] = np.clip(raw, 1, bins)
    return scores


def _threshold_scores(values: pd.Series, spec: ScoreSpec, lines: Mapping[str, float] | None = None) -> pd.Series:
    values = pd.to_numeric(values, errors="coerce").astype(float)
    scores = pd.Series(spec.otherwise, index=values.index, dtype="int64")
    assigned = pd.Series(False, index=values.index)
    line = lambda b: float((lines or {})[b]) if isinstance(b, str) else b  # noqa: E731
    for level in spec.levels or []:
        hit = (values >= line(level.min)) if level.min is not None else (values <= line(level.max))
        hit = hit.fillna(False) & ~assigned
        scores[hit] = level.score
        assigned |= hit
    return scores


def _first_match(frame: pd.DataFrame, rules: list[SegmentRule], other: str, eligible: pd.Series) -> pd.Series:
    out = pd.Series(other, index=frame.index, dtype=object)
    done = ~eligible.to_numpy(bool)
    for rule in rules:
        hit = parse(rule.when, SCORE_NAMES, kind="rule").evaluate(frame).to_numpy(bool) & ~done
        out[hit] = rule.key
        done |= hit
    return out


def rfm_scores(
    snapshot: pd.DataFrame,
    scheme: str | Path | Mapping[str, Any] | RFMScheme | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """R, F and M scores, the RFM cell and a named segment for every customer (keys and numbers).

    Parameters
    ----------
    snapshot : DataFrame
        ``segkit.snapshot(ds, as_of)`` (or any table with the scheme's measure columns),
        indexed by customer_id.
    scheme : str, dict, path or RFMScheme, optional
        ``"quantile"`` (default), ``"handbook"``, ``"named"``, another scheme of the ``rfm``
        configuration, a mapping with one scheme, or a YAML file holding one.
    config : path or mapping, optional
        User configuration for the ``rfm`` section.

    Returns
    -------
    DataFrame
        Indexed like ``snapshot``: ``r_score``, ``f_score``, ``m_score`` (Int64; empty for
        customers the scheme does not score, by default those without orders),
        ``rfm_score`` (the cell, e.g. ``"535"``), ``rfm_points`` (R + F + M),
        ``rfm_segment`` (a key); schemes with groups (handbook) add ``rfm_group``. Labels
        are :func:`explain_rfm`'s. ``attrs["scheme"]`` names the scheme.

    Warns
    -----
    RFMWarning
        When fewer customers than bins are scored or a measure is the same for everybody.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame(
    ...     {"recency_days": [10.0, 45.0, 200.0, None], "orders_12m": [72, 24, 3, 0],
    ...      "orders_total": [90, 30, 3, 0], "revenue_total": [150000.0, 80000.0, 20000.0, 0.0]},
    ...     index=pd.Index(["A", "B", "C", "D"], name="customer_id"))
    >>> rfm_scores(snap, "handbook")[["rfm_score", "rfm_points", "rfm_segment", "rfm_group"]]
                rfm_score  rfm_points rfm_segment   rfm_group
    customer_id                                              
    A                 333           9        core  high_value
    B                 222           6   potential   potential
    C                 111           3     dormant       other
    D                 NaN        <NA>   no_orders   no_orders
    """
    name, spec = _resolve_scheme(scheme, config)
    lines = resolve_thresholds(snapshot, config).values  # named levels: thresholds.yaml
    n = len(snapshot)
    eligible = parse(spec.eligible, kind="rule").evaluate(snapshot) if n else pd.Series(dtype=bool)
    scored = snapshot[eligible.to_numpy(bool)]
    out = pd.DataFrame(index=snapshot.index)
    if spec.method == "quantile" and 0 < len(scored) < spec.bins:
        warnings.warn(
            f"RFM: only {len(scored)} customers to score with {spec.bins} bins; scores are coarse",
            RFMWarning,
            stacklevel=2,
        )
    for dim, column in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        dspec: ScoreSpec = getattr(spec, dim)
        values = parse(dspec.measure, kind="measure").evaluate(scored) if len(scored) else pd.Series(dtype=float)
        if spec.method == "quantile":
            present = values.dropna()
            if len(present) > 1 and present.nunique() == 1:
                warnings.warn(
                    f"RFM {dim}: {dspec.measure} is {present.iloc[0]:g} for all {len(present)} customers; "
                    f"every customer gets the middle score {1 + spec.bins // 2}",
                    RFMWarning,
                    stacklevel=2,
                )
            scores = quantile_scores(values, spec.bins, dspec.higher_is_better)
        else:
            scores = _threshold_scores(values, dspec, lines)
        out[column] = scores.reindex(snapshot.index).astype("Int64")
    if len(scored) == 0 and n:
        warnings.warn("RFM: no customer is eligible for scoring (no orders?)", RFMWarning, stacklevel=2)

    out["rfm_points"] = (out["r_score"] + out["f_score"] + out["m_score"]).astype("Int64")
    cell = out["r_score"].astype("str") + out["f_score"].astype("str") + out["m_score"].astype("str")
    out["rfm_score"] = cell.where(eligible.reindex(snapshot.index, fill_value=False).to_numpy(bool)).astype("str")
    frame = out[list(SCORE_NAMES)].astype("float64")
    eligible_aligned = pd.Series(eligible.to_numpy(bool), index=snapshot.index) if n else pd.Series(dtype=bool)
    segment = _first_match(frame, spec.segments, spec.other.key, eligible_aligned)
    segment[~eligible_aligned.to_numpy(bool)] = spec.no_orders.key
    out["rfm_segment"] = segment.astype("str")
    if spec.groups:
        group = _first_match(frame, spec.groups, spec.group_other.key, eligible_aligned)
        group[~eligible_aligned.to_numpy(bool)] = spec.no_orders.key
        out["rfm_group"] = group.astype("str")
    ordered = ["r_score", "f_score", "m_score", "rfm_score", "rfm_points", "rfm_segment"]
    out = out[ordered + [c for c in ("rfm_group",) if c in out]]
    out.attrs = {"scheme": name, "method": spec.method, "bins": spec.bins, "config_hash": config_hash(spec), **(
        {"as_of": snapshot.attrs["as_of"]} if "as_of" in snapshot.attrs else {})}
    return out


def explain_rfm(rfm: pd.DataFrame, lang: str = "zh", scheme: Any = None, config: Any = None) -> pd.DataFrame:
    """The labels of :func:`rfm_scores`' segments (and groups), from the scheme's configuration.

    The edge function of RFM: words for people, added where they are shown.

    Parameters
    ----------
    rfm : DataFrame
        :func:`rfm_scores`' result (or some of its rows).
    lang : {"zh", "en"}, default "zh"
    scheme : str, dict, path or RFMScheme, optional
        The scheme the scores were made with; default ``rfm.attrs["scheme"]`` (a scheme given
        as a dict, file or RFMScheme must be passed again).
    config : path or mapping, optional
        The configuration the scores were made with.

    Returns
    -------
    DataFrame
        Indexed like ``rfm``: ``rfm_segment_label``, and ``rfm_group_label`` when ``rfm`` has
        ``rfm_group``.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame(
    ...     {"recency_days": [10.0, 200.0], "orders_12m": [72, 3],
    ...      "orders_total": [90, 3], "revenue_total": [150000.0, 20000.0]}, index=["A", "B"])
    >>> explain_rfm(rfm_scores(snap, "handbook"), "en")
      rfm_segment_label rfm_group_label
    A              Core      High value
    B           Dormant           Other
    """
    check_lang(lang)
    if scheme is None:
        scheme = rfm.attrs.get("scheme")
        if scheme == "custom":
            raise ValueError("explain_rfm: these scores were made with a scheme given as a dict, file or RFMScheme; pass it as scheme=")
    _, spec = _resolve_scheme(scheme, config)
    out = pd.DataFrame(index=rfm.index)
    columns = [("rfm_segment", spec.other, spec.segments)]
    if spec.groups and "rfm_group" in rfm:
        columns.append(("rfm_group", spec.group_other, spec.groups))
    for column, other, rules in columns:
        labels = {other.key: other, spec.no_orders.key: spec.no_orders, **{r.key: r for r in rules}}
        unknown = sorted(set(rfm[column].dropna()) - set(labels))
        if unknown:
            raise ValueError(f"explain_rfm: {column} {unknown[0]!r} is not a key of the RFM scheme {scheme!r}; "
                             "pass the scheme the scores were made with")
        out[f"{column}_label"] = rfm[column].map(lambda k: getattr(labels[k], lang)).astype("str")
    return out
