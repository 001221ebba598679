"""Every exception and warning segkit raises, in one module.

This module sits at the base of the house (beside :mod:`segkit.config` and
:mod:`segkit.periods`) and imports nothing from segkit, so any module may import from it. Each
class is also importable from the module that raises it (its *home*, shown in tracebacks and
used by pickling, so ``segkit.config.ConfigError`` reads as it always did)::

    from segkit.errors import ConfigError          # here
    from segkit.config import ConfigError          # its home: the same class

Private exceptions that steer control flow inside one module and never reach a user
(``ingest._NotSimple``, ``models._optim._AtBoundary``) stay in that module.

=========================  ============================  ==========================================================
Class                      Home (raised by)              When
=========================  ============================  ==========================================================
``ConfigError``            ``segkit.config``             a configuration file or value is invalid: unknown key or
                                                         section, bad value, unsafe YAML (too large, alias bomb,
                                                         duplicate key); names the file, key and the allowed ones
``SchemaError``            ``segkit.schema``             a file cannot be read as a segkit table (missing file,
                                                         unreadable, missing columns)
``MostlyRejectedError``    ``segkit.io``                 one rule rejected more than ``engine.max_rejected_share``
                                                         of a table; ``.dataset`` still holds the rejected rows
``ExpressionError``        ``segkit.segment._expr``      a tier/tag rule cannot be parsed, names an unknown column,
                                                         or cannot be evaluated
``OverrideError``          ``segkit.segment.overrides``  an overrides file cannot be applied (every bad row listed)
``TagError``               ``segkit.segment.tags``       a tag file or tag name cannot be used
``ConvergenceError``       ``segkit.models._optim``      a likelihood maximisation did not converge
                                                         (``.log_params``: where it stopped, or None)
``RenewalsNotFitted``      ``segkit.insights.renewals``  the renewal model cannot be fitted on any tier
                                                         (``.reason``: a key of ``RenewalsNotFitted.REASONS``)
``MissingFontError``       ``segkit.plots``              no font that can draw Chinese is installed
``ReportError``            ``segkit.reporting.render``   a report could not be produced; nothing was published
``RFMWarning``             ``segkit.segment.rfm``        RFM scores on tiny or constant data are coarse
``TierHealthWarning``      ``segkit.segment.thresholds`` the tiers hardly separate customers (cause named)
``LimitingModelWarning``   ``segkit.models._nbd``        a purchase model was fitted as its limiting model
``ChurnDataWarning``       ``segkit.models.churn``       a churn-model input column was read differently from its
                                                         dtype (text as numbers, dates/ids dropped)
``MissingColumnsWarning``  ``segkit.handbook``           the handbook table lacks columns the tier rules use
=========================  ============================  ==========================================================

Examples
--------
>>> from segkit.errors import ConfigError, MostlyRejectedError, SchemaError
>>> issubclass(MostlyRejectedError, SchemaError) and issubclass(ConfigError, ValueError)
True
>>> ConfigError.__module__
'segkit.config'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChurnDataWarning",
    "ConfigError",
    "ConvergenceError",
    "ExpressionError",
    "LimitingModelWarning",
    "MissingColumnsWarning",
    "MissingFontError",
    "MostlyRejectedError",
    "OverrideError",
    "RFMWarning",
    "RenewalsNotFitted",
    "ReportError",
    "SchemaError",
    "TagError",
    "TierHealthWarning",
]


def _home(module: str):
    """Class decorator: the module users import the class from (tracebacks and pickles name it)."""

    def mark(cls: type) -> type:
        cls.__module__ = module
        return cls

    return mark


# --- configuration and data ----------------------------------------------------------------------

@_home("segkit.config")
class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the key and what is allowed."""


@_home("segkit.schema")
class SchemaError(ValueError):
    """A file cannot be read as a segkit table (missing file, unreadable, missing columns)."""


@_home("segkit.io")
class MostlyRejectedError(SchemaError):
    """One rule rejected more than ``engine.max_rejected_share`` of a table: the data are not what
    segkit expects, so it stops instead of analysing what is left. ``dataset`` holds everything read
    (a :class:`segkit.io.Dataset`), rejected rows included, so the ledger can still be written
    (``segkit validate`` does)."""

    def __init__(self, message: str, dataset: Any):
        super().__init__(message)
        self.dataset = dataset


# --- segmentation ----------------------------------------------------------------------------------

@_home("segkit.segment._expr")
class ExpressionError(ValueError):
    """An expression cannot be parsed, names an unknown column, or cannot be evaluated."""


@_home("segkit.segment.overrides")
class OverrideError(ValueError):
    """An overrides file cannot be applied; the message lists every problem with its row."""


@_home("segkit.segment.tags")
class TagError(ValueError):
    """A tag file or tag name cannot be used; the message names the row and the value."""


@_home("segkit.segment.rfm")
class RFMWarning(UserWarning):
    """RFM scores were computed but are coarse: tiny or constant data."""


@_home("segkit.segment.thresholds")
class TierHealthWarning(UserWarning):
    """The tiers hardly separate customers (one tier holds nearly everyone, or an expected
    tier is empty); the message names the likely cause."""


# --- models and insights ---------------------------------------------------------------------------

@_home("segkit.models._optim")
class ConvergenceError(RuntimeError):
    """The likelihood maximisation did not converge; the message says what to try.

    ``log_params`` is the point the optimiser stopped at, when it stopped because the data do
    not pin the model down there (a parameter on the log-parameter box, a flat or loose
    optimum), else None: a model can compare its likelihood there with that of its limit.
    """

    def __init__(self, message: str, log_params: Any = None):
        super().__init__(message)
        self.log_params = log_params


@_home("segkit.models._nbd")
class LimitingModelWarning(UserWarning):
    """A purchase model was fitted as its limiting model (e.g. no dropout: the NBD)."""


@_home("segkit.models.churn")
class ChurnDataWarning(UserWarning):
    """A column of the input was read differently from its dtype (text read as numbers,
    dates or identifiers dropped)."""


@_home("segkit.insights.renewals")
class RenewalsNotFitted(ValueError):
    """The renewal model cannot be fitted on any tier; ``reason`` says why (a key of
    :attr:`REASONS`).

    Examples
    --------
    >>> str(RenewalsNotFitted("empty"))
    'renewal_by_tier: the renewal model cannot be fitted on these contracts: there is no contract'
    """

    #: reason key -> what it means
    REASONS = {
        "few": "too few relationships",
        "no_churn": "no customer has left yet (nothing to estimate the churn rate from)",
        "no_renewal": "no customer has renewed yet (nothing to estimate the renewal rate from)",
        "no_fit": "the maximisation did not converge",
        "empty": "there is no contract",
    }

    def __init__(self, reason: str):
        super().__init__(f"renewal_by_tier: the renewal model cannot be fitted on these contracts: {self.REASONS[reason]}")
        self.reason = reason


# --- output ------------------------------------------------------------------------------------------

@_home("segkit.plots")
class MissingFontError(RuntimeError):
    """No font that can draw Chinese is installed."""


@_home("segkit.reporting.render")
class ReportError(RuntimeError):
    """A report could not be produced; nothing new was published."""


@_home("segkit.handbook")
class MissingColumnsWarning(UserWarning):
    """The table lacks columns the tier rules use; their values are treated as unknown."""
