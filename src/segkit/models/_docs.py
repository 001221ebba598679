"""The numpydoc blocks the maximum-likelihood models share, written once.

A line holding only ``%(name)s`` in a model's docstring (or in one of its methods') is
replaced by the block ``name``, indented as the marker, when the class is created
(:meth:`segkit.models._base.MaximumLikelihoodModel.__init_subclass__`): ``help()`` and the
doctests see the whole text.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from segkit.models._optim import SCREEN_SIZE

__all__ = ["COUNTS_DOC", "FITTED_DOC", "PARAMETERS_DOC", "RETURNS_SELF_DOC", "SAMPLE_WEIGHT_DOC",
           "SCREENING_DOC", "UNIT_DOC", "fill_doc", "model_doc_blocks"]

#: ``Parameters`` of every maximum-likelihood model (the defaults are read from its signature).
PARAMETERS_DOC = """\
Parameters
----------
penalizer_coef : float, default {penalizer_coef}
    Adds ``penalizer_coef * sum(params**2)`` to the mean negative log-likelihood (as
    lifetimes does); a small value (0.001) tames fits on thin data.
n_starts : int, default {n_starts}
{starts}
random_state : int, Generator or None, default {random_state}
    Seed for the perturbed starting points (and the screening subsample, where one is drawn).
tol : float, default {tol}
{tol_note}
max_iter : int, default {max_iter}
    Iterations per start."""

#: What :attr:`MaximumLikelihoodModel._doc_starts` says of the models that screen their starts.
SCREENING_DOC = (f" On more than {2 * SCREEN_SIZE:,} customers the starts are compared on a "
                 f"random subsample of {SCREEN_SIZE:,} and the best is refined on all of them.")

#: ``Attributes`` every fit sets, after the model's own ``params_`` (and ``limit_``).
FITTED_DOC = """\
log_likelihood_ : float
    Total log-likelihood of the data at ``params_`` (without the penalty).
standard_errors_ : dict
{hessian}
covariance_ : DataFrame
    Asymptotic covariance of the log-parameters ``ln(params_)``: the inverse of the Hessian
    of the same objective, labelled by parameter (``sqrt(diag) * params_`` =
    ``standard_errors_``); :func:`segkit.models.clv.clv_interval` draws from it.
n_customers_ : int
    Customers fitted (sum of the weights).
n_distinct_ : int
    Distinct rows the likelihood was evaluated on.
n_iter_ : int
    L-BFGS-B iterations over all starts."""

#: ``unit_``, which the purchase models add to :data:`FITTED_DOC`.
UNIT_DOC = """\
unit_ : str or None
    Time unit of the data ("D" or "W") when fitted with :meth:`fit_snapshot` on a
    :func:`segkit.summary.btyd_summary` table (``attrs["btyd_unit"]``), else None."""

#: ``sample_weight`` of a fit.
SAMPLE_WEIGHT_DOC = """\
sample_weight : array-like or None, default None
    Number of customers each row stands for (e.g. ``n_customers`` of
    :func:`~segkit.models.compress_snapshot`): a row of weight w counts as w
    customers with those values, so distinct rows with counts fit exactly like
    one row per customer. Negative, missing or infinite weights are an error."""

#: Returns of a fit.
RETURNS_SELF_DOC = """\
Returns
-------
self
    The fitted model."""

#: Parameters and Returns of ``probability_of_purchases(n, t)``.
COUNTS_DOC = """\
Parameters
----------
n : int or array-like
    Number of purchases (whole, non-negative).
t : float or array-like
    Length of the period, in the unit of recency and T (broadcast against ``n``).

Returns
-------
float, ndarray or Series
    A Series when ``n`` or ``t`` was one."""

#: A line holding only ``%(name)s`` in a model's docstring: the block ``name`` goes there,
#: indented as the marker.
_DOC_MARKER = re.compile(r"^( *)%\((\w+)\)s$", re.MULTILINE)


def fill_doc(doc: str | None, blocks: dict[str, str]) -> str | None:
    """``doc`` with each line ``%(name)s`` replaced by ``blocks[name]``, indented as the line.

    Examples
    --------
    >>> print(fill_doc("Parameters\\n    ----------\\n    %(p)s\\n", {"p": "n : int\\n    Size."}))
    Parameters
        ----------
        n : int
            Size.
    <BLANKLINE>
    """
    if doc is None:
        return None
    return _DOC_MARKER.sub(lambda m: textwrap.indent(blocks[m.group(2)], m.group(1)), doc)


def model_doc_blocks(defaults: dict[str, Any], *, starts: str, tol_note: str,
                     hessian: str) -> dict[str, str]:
    """The blocks of one model: the ``defaults`` of its ``__init__``, and what it adds on the
    starts (``starts``), on ``tol`` (``tol_note``) and on the Hessian of its standard errors.

    Examples
    --------
    >>> defaults = dict(penalizer_coef=0.0, n_starts=3, random_state=0, tol=1e-7, max_iter=1000)
    >>> print(model_doc_blocks(defaults, starts="", tol_note="", hessian="analytic")["parameters"])
    Parameters
    ...
    tol : float, default 1e-7
        Gradient tolerance of L-BFGS-B on the mean log-likelihood.
    ...
    """
    def paragraph(text):
        return textwrap.fill(text, width=88, initial_indent="    ", subsequent_indent="    ",
                             break_on_hyphens=False)

    return {
        "parameters": PARAMETERS_DOC.format(
            starts=paragraph("Starting points for the optimiser: a first guess (from the data "
                             "where the model has one) plus random perturbations of it; the best "
                             "converged one wins." + starts),
            **{**defaults, "tol": f"{defaults['tol']:.0e}".replace("e-0", "e-")},
            tol_note=paragraph("Gradient tolerance of L-BFGS-B on the mean log-likelihood."
                               + tol_note),
        ),
        "sample_weight": SAMPLE_WEIGHT_DOC,
        "returns_self": RETURNS_SELF_DOC,
        "counts": COUNTS_DOC,
        "fitted": FITTED_DOC.format(hessian=paragraph(
            f"Standard errors of ``params_`` from the {hessian} Hessian of the objective "
            f"optimised (the total negative log-likelihood, plus the penalty when "
            f"``penalizer_coef`` > 0); a Hessian that is not positive definite raises "
            f"ConvergenceError.")),
    }
