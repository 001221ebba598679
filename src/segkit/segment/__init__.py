"""Segmentation: RFM schemes, explained tiers with review and overrides, classifications, tags.

=============  ===========================================================================
module         what it gives
=============  ===========================================================================
``rfm``        :func:`~segkit.segment.rfm.rfm_scores` (quantile, handbook, named schemes)
``tiers``      :func:`~segkit.segment.tiers.assign_tiers`; the tier order,
               :func:`~segkit.segment.tiers.tier_dtype`
``rules``      the rule engine (:class:`~segkit.segment.rules.RuleSet`) behind tiers and
               value classes
``overrides``  :func:`~segkit.segment.overrides.read_overrides`, applying manual overrides
``classify``   value class, lifecycle stage, company size, industry, need type,
               combined label
``tags``       taxonomy, automatic / manual / hybrid tags, synonym merge, tag review
=============  ===========================================================================

The analysis functions return keys and numbers and take no language; the words (zh or en,
from the label YAML) come from one edge function per result, for the rows shown:
:func:`~segkit.segment.tiers.explain_tiers`, :func:`~segkit.segment.classify.explain_classes`,
:func:`~segkit.segment.rfm.explain_rfm`, :func:`~segkit.segment.tags.label_tags` (and
:func:`segkit.models.clv_words.explain_clv_tiers` for CLV tiers).

Rules, thresholds and labels (zh + en) are YAML in ``segkit/defaults``. Figures of these results
are in :mod:`segkit.plots.segment`.
"""

from segkit.segment.classify import (classify, combined_label, company_size, explain_classes, industry, lifecycle_stage,
                                     need_type, value_class)
from segkit.segment.rfm import explain_rfm, rfm_scores
from segkit.segment.tags import assign_tags, label_tags, tag_review
from segkit.segment.overrides import read_overrides
from segkit.segment.tiers import assign_tiers, explain_tiers, tier_labels

__all__ = [
    "assign_tags",
    "assign_tiers",
    "classify",
    "combined_label",
    "company_size",
    "explain_classes",
    "explain_rfm",
    "explain_tiers",
    "industry",
    "label_tags",
    "lifecycle_stage",
    "need_type",
    "read_overrides",
    "rfm_scores",
    "tag_review",
    "tier_labels",
    "value_class",
]
