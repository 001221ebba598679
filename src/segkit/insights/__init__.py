"""Insights across customers and quarters: tier migration, KPIs, A/B tests, cadence, strategy.

Import from the submodules, e.g. ``from segkit.insights.migration import migration``.
"""
