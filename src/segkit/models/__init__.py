"""Predictive models: BTYD purchase models (BG/NBD, Pareto/NBD), Gamma-Gamma spend, churn."""

from segkit.models._base import compress_snapshot
from segkit.models._optim import ConvergenceError
from segkit.models.bgnbd import BetaGeo
from segkit.models.churn import ChurnModel
from segkit.models.gammagamma import GammaGamma
from segkit.models.paretonbd import ParetoNBD

__all__ = ["BetaGeo", "ChurnModel", "ConvergenceError", "GammaGamma", "ParetoNBD", "compress_snapshot"]
