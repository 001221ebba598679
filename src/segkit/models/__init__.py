"""Predictive models: BTYD purchase models (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB), the sBG
retention model for contracts, Gamma-Gamma spend, churn."""

from segkit.models._base import compress_snapshot
from segkit.models._nbd import LimitingModelWarning
from segkit.models._optim import ConvergenceError
from segkit.models.bgbb import BetaGeoBetaBinom
from segkit.models.bgnbd import BetaGeo
from segkit.models.churn import ChurnModel
from segkit.models.gammagamma import GammaGamma
from segkit.models.mbgnbd import ModifiedBetaGeo
from segkit.models.paretonbd import ParetoNBD
from segkit.models.sbg import ShiftedBetaGeo, cohort_renewals

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ChurnModel",
    "ConvergenceError",
    "GammaGamma",
    "LimitingModelWarning",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "ShiftedBetaGeo",
    "cohort_renewals",
    "compress_snapshot",
]
