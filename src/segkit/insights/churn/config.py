"""The ``churn`` configuration section (``segkit/defaults/churn.yaml``): :class:`ChurnConfig`
and :func:`load_churn_config`.

Every threshold, label definition, risk cut-off, model default and the rule that picks the
flagging threshold is read here, once, and referred to by name by the other churn modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from segkit.config import StrictModel, load_section, register_section

__all__ = ["SIGNALS", "ChurnConfig", "ThresholdConfig", "BootstrapConfig", "Text", "LabelDefinition", "load_churn_config"]

#: Signal keys in the order they are reported.
SIGNALS = (
    "high_risk", "orders_falling", "low_satisfaction", "key_contact_change", "complaints",
    "cooperation_shortening", "contact_drop",
)


# --------------------------------------------------------------------------------------------
# configuration


class Text(StrictModel):
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return getattr(self, lang)


class _Signal(StrictModel):
    enabled: bool = True
    label: Text
    reason: Text


class HighRiskSignal(_Signal):
    no_interaction_months: Literal[3, 6] = 3
    compare_months: Literal[3, 6] = 3
    order_drop: float = Field(gt=0, le=1)


class OrdersFallingSignal(_Signal):
    quarters: Literal[2, 3] = 2


class LowSatisfactionSignal(_Signal):
    below: float = Field(ge=0, le=100)


class KeyContactSignal(_Signal):
    pass


class ComplaintsSignal(_Signal):
    window_months: Literal[6, 12] = 6
    min_count: int = Field(ge=1)


class CooperationShorteningSignal(_Signal):
    gap_factor: float = Field(gt=1)
    min_repeat_orders: int = Field(ge=1)


class ContactDropSignal(_Signal):
    drop: float = Field(gt=0, le=1)
    min_previous: int = Field(ge=1)


class Signals(StrictModel):
    high_risk: HighRiskSignal
    orders_falling: OrdersFallingSignal
    low_satisfaction: LowSatisfactionSignal
    key_contact_change: KeyContactSignal
    complaints: ComplaintsSignal
    cooperation_shortening: CooperationShorteningSignal
    contact_drop: ContactDropSignal


class LabelDefinition(StrictModel):
    kind: Literal["no_order", "revenue_drop"]
    drop: float | None = Field(default=None, gt=0, le=1)
    zh: str
    en: str

    @model_validator(mode="after")
    def _drop_needed(self):
        if self.kind == "revenue_drop" and self.drop is None:
            raise ValueError("a revenue_drop definition needs `drop` (a share, e.g. 0.8)")
        return self


class LabelsConfig(StrictModel):
    default: str
    active_months: int = Field(ge=1, le=120)
    definitions: dict[str, LabelDefinition]

    @model_validator(mode="after")
    def _default_known(self):
        if self.default not in self.definitions:
            raise ValueError(f"default {self.default!r} is not one of the definitions {sorted(self.definitions)}")
        return self


class BtydFeaturesConfig(StrictModel):
    """``training.btyd_features``: BG/NBD outputs as churn features (:func:`btyd_features`)."""

    enabled: bool = True
    #: Seed of the BG/NBD fit (its random starts and screening sample).
    random_state: int = Field(default=0, ge=0)


class TrainingConfig(StrictModel):
    exclude_columns: list[str]
    date_ages: dict[str, str]
    add_signals: bool = True
    btyd_features: BtydFeaturesConfig = BtydFeaturesConfig()
    min_history_months: int = Field(ge=0)
    #: Most training rows (customer x quarter end) a model is fitted on; above it a sample
    #: stratified by quarter end and label is drawn (:func:`sample_training_rows`). None: no cap.
    max_training_rows: int | None = Field(default=200_000, ge=1)
    #: Seed of that sample: the same table and seed give the same rows.
    sample_seed: int = Field(default=0, ge=0)


class RiskLevels(StrictModel):
    high: float = Field(gt=0, le=1)
    medium: float = Field(ge=0, le=1)
    labels: dict[Literal["high", "medium", "low"], Text]

    @model_validator(mode="after")
    def _ordered(self):
        if self.medium > self.high:
            raise ValueError(f"medium ({self.medium}) must not be above high ({self.high})")
        return self


class DormantRule(StrictModel):
    after_days: int = Field(ge=1)
    levels: list[Literal["high", "medium", "low"]]
    action: str
    except_tiers: list[str] = []


class ActionsConfig(StrictModel):
    by_level: dict[Literal["high", "medium", "low"], dict[str, str]]
    dormant: DormantRule


class ModelDefaults(StrictModel):
    model: Literal["logistic", "tree", "gbm"] = "logistic"
    calibrate: bool = True
    random_state: int | None = 0


class BootstrapConfig(StrictModel):
    """``backtest.bootstrap``: the interval of the model card's ROC AUC."""

    #: Resamples of the test customers (with replacement).
    n_boot: int = Field(default=1000, ge=50, le=100_000)
    #: Coverage of the percentile interval (0.9: the 5th to the 95th percentile).
    level: float = Field(default=0.90, gt=0, lt=1)
    #: Seed of the resampling: the same test set and seed give the same interval.
    seed: int = Field(default=0, ge=0)


class BacktestConfig(StrictModel):
    top_share: float = Field(gt=0, lt=1)
    calibration_bins: int = Field(ge=2, le=100)
    bootstrap: BootstrapConfig = BootstrapConfig()


class ThresholdCapacity(StrictModel):
    """How many customers the team can call: a number or a share of those scored (one of them)."""

    customers: int | None = Field(default=None, ge=1)
    share: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one(self):
        if (self.customers is None) == (self.share is None):
            raise ValueError("give exactly one of `customers` (a count) or `share` (of the customers scored)")
        return self


class ThresholdCost(StrictModel):
    """Cost of a false alarm (a retained customer contacted) and of a missed churner, in any
    one unit: only their ratio matters."""

    false_alarm: float = Field(gt=0)
    missed_churner: float = Field(gt=0)


class CapacitySuggestion(StrictModel):
    """``threshold.suggest_capacity``: when most customers churn, a probability line flags most
    of them; the model card then says how many a capacity would flag (``threshold.capacity``
    when set, else ``capacity`` here)."""

    base_rate_above: float = Field(gt=0, lt=1)
    capacity: ThresholdCapacity


class ThresholdConfig(StrictModel):
    """``threshold``: the churn probability from which a customer is flagged.

    * ``probability`` -- the high-risk cut-off ``risk_levels.high`` (today's list);
    * ``capacity`` -- the probability of the last customer that fits ``capacity``;
    * ``cost`` -- ``false_alarm / (false_alarm + missed_churner)``: flagging pays when
      ``p * missed_churner >= (1 - p) * false_alarm`` (for calibrated probabilities).
    """

    rule: Literal["probability", "capacity", "cost"] = "probability"
    capacity: ThresholdCapacity | None = None
    cost: ThresholdCost | None = None
    suggest_capacity: CapacitySuggestion | None = None

    @model_validator(mode="after")
    def _settings_for_rule(self):
        if self.rule in ("capacity", "cost") and getattr(self, self.rule) is None:
            raise ValueError(f"rule {self.rule!r} needs the `{self.rule}` setting")
        return self


class ExplanationWords(StrictModel):
    """``explanations``: how a driver of churn risk is put into words (:func:`explain_drivers`)."""

    text: Text
    raises: Text
    lowers: Text
    missing: Text
    yes: Text
    no: Text


@register_section("churn")
class ChurnConfig(StrictModel):
    """The ``churn`` configuration section (``segkit/defaults/churn.yaml``)."""

    signals: Signals
    labels: LabelsConfig
    training: TrainingConfig
    risk_levels: RiskLevels
    actions: ActionsConfig
    model: ModelDefaults
    backtest: BacktestConfig
    threshold: ThresholdConfig = ThresholdConfig()
    explanations: ExplanationWords
    features: dict[str, Text]


def load_churn_config(config: str | Path | Mapping[str, Any] | ChurnConfig | None = None) -> ChurnConfig:
    """The ``churn`` section: package defaults overridden by ``config``.

    Examples
    --------
    >>> cfg = load_churn_config()
    >>> cfg.signals.high_risk.order_drop, cfg.signals.low_satisfaction.below, cfg.labels.default
    (0.5, 70.0, 'no_order')
    >>> load_churn_config({"churn": {"risk_levels": {"hihg": 0.4}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'churn' configuration:
      - unknown key 'risk_levels.hihg'; allowed keys here: ['high', 'labels', 'medium']
    """
    if isinstance(config, ChurnConfig):
        return config
    return load_section("churn", ChurnConfig, config)

