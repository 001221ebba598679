"""Tag system (标签体系, business-rules.md section 7).

- A hierarchical taxonomy (level 1 dimension / level 2 feature / level 3 detail) in
  ``segkit/defaults/tags.yaml``; a tag is named by its path, e.g. ``value.spend_level.high``.
- Automatic rules are small expressions over snapshot columns (``revenue_total >= 100000``),
  parsed by :mod:`segkit.segment._expr` (never ``eval``) and checked when the configuration
  loads: an unknown column or operator is an error naming it.
- Manual tags come from a file (:func:`read_manual_tags`); hybrid rules set a tag
  ``to_confirm`` until a person confirms it (:func:`read_confirmations`), e.g. to exclude
  fake orders.
- Near-duplicate tags merge through synonyms (channel ``APP`` / ``mobile`` -> ``mobile``).
- :func:`tag_review` checks every quarter whether each tag still separates next-quarter
  repurchase and satisfaction.

Why this module is long: taxonomy, rules, manual and confirmed tags, merging and review are the
one tag life cycle of section 7 and share the taxonomy's name resolution.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.errors import TagError  # defined with every segkit error; importable here as before
from segkit.features import SNAPSHOT_COLUMNS
from segkit.labels import check_lang
from segkit.segment.thresholds import default_thresholds, resolve_thresholds
from segkit.segment._expr import ExpressionError, parse
from segkit.schema import fold_header
from segkit.segment.overrides import alias_columns, read_table
from segkit.segment.rules import ConfigItem
from segkit.segment.tiers import section_source

__all__ = [
    "TagsConfig",
    "TagError",
    "Taxonomy",
    "load_tags_config",
    "auto_tags",
    "read_manual_tags",
    "read_confirmations",
    "assign_tags",
    "merge_synonyms",
    "tag_matrix",
    "tag_review",
    "label_tags",
    "TAG_COLUMNS",
]

TAG_COLUMNS = ["customer_id", "tag", "level1", "level2", "level3", "source", "status"]
STATUSES = ("confirmed", "to_confirm", "rejected")


class TaxonomyNode(ConfigItem):
    zh: str
    en: str
    synonyms: list[str] = []
    children: dict[str, TaxonomyNode] | None = None


class TagRule(ConfigItem):
    tag: str
    when: str
    mode: Literal["auto", "hybrid"] = "auto"


class TagReviewConfig(StrictModel):
    alpha: float = Field(0.05, gt=0, lt=1)
    min_coverage: float = Field(0.01, ge=0, le=1)
    max_coverage: float = Field(0.95, ge=0, le=1)
    min_customers: int = Field(5, ge=1)


@register_section("tags")
class TagsConfig(StrictModel):
    """The ``tags`` configuration section."""

    taxonomy: dict[str, TaxonomyNode]
    rules: list[TagRule] = []
    review: TagReviewConfig = TagReviewConfig()
    extra_columns: list[str] = []


class Taxonomy:
    """The level-3 tags of a taxonomy, their labels and the names that resolve to them.

    Examples
    --------
    >>> tax = Taxonomy(load_tags_config())
    >>> tax.resolve("APP"), tax.resolve("mobile"), tax.resolve("移动端")
    ('behaviour.channel.mobile', 'behaviour.channel.mobile', 'behaviour.channel.mobile')
    >>> tax.label("value.spend_level.high", "zh")
    '价值标签/消费水平/高消费'
    """

    def __init__(self, config: TagsConfig):
        self.nodes: dict[str, TaxonomyNode] = {}
        self.leaves: list[str] = []
        for k1, n1 in config.taxonomy.items():
            self.nodes[k1] = n1
            if not n1.children:
                raise ConfigError(f"tags.taxonomy.{k1}: a level-1 entry needs level-2 `children`")
            for k2, n2 in n1.children.items():
                self.nodes[f"{k1}.{k2}"] = n2
                if not n2.children:
                    raise ConfigError(f"tags.taxonomy.{k1}.children.{k2}: a level-2 entry needs level-3 `children`")
                for k3, n3 in n2.children.items():
                    if n3.children:
                        raise ConfigError(f"tags.taxonomy.{k1}.{k2}.{k3}: tags have three levels; level 3 has no children")
                    path = f"{k1}.{k2}.{k3}"
                    self.nodes[path] = n3
                    self.leaves.append(path)
        self._names: dict[str, set[str]] = {}
        for path in self.leaves:
            node = self.nodes[path]
            k1, k2, k3 = path.split(".")
            names = {
                path,
                k3,
                path.replace(".", "/"),
                f"{self.nodes[k1].zh}/{self.nodes[k1 + '.' + k2].zh}/{node.zh}",
                f"{self.nodes[k1].en}/{self.nodes[k1 + '.' + k2].en}/{node.en}",
                node.zh,
                node.en,
                *node.synonyms,
            }
            for name in names:
                self._names.setdefault(fold_header(name), set()).add(path)
        for syn_path in self.leaves:
            for syn in self.nodes[syn_path].synonyms:
                owners = self._names[fold_header(syn)]
                if len(owners) > 1:
                    raise ConfigError(f"tags.taxonomy: synonym {syn!r} belongs to several tags: {sorted(owners)}")

    def levels(self, tag: str) -> tuple[str, str, str]:
        a, b, c = tag.split(".")
        return a, b, c

    def label(self, tag: str, lang: str = "zh") -> str:
        """``level1/level2/level3`` labels of a tag."""
        a, b, _ = tag.split(".")
        return "/".join(getattr(self.nodes[p], lang) for p in (a, f"{a}.{b}", tag))

    def resolve(self, name: str) -> str:
        """The tag a name refers to: its path, its labels, or a synonym.

        Raises
        ------
        TagError
            For an unknown or ambiguous name, with the closest tags.
        """
        hits = self._names.get(fold_header(name), set())
        if len(hits) == 1:
            return next(iter(hits))
        if len(hits) > 1:
            raise TagError(f"tag name {name!r} is ambiguous: {sorted(hits)}; write the full path")
        close = difflib.get_close_matches(str(name), self.leaves, n=3, cutoff=0.5)
        hint = f"; closest: {close}" if close else ""
        raise TagError(f"unknown tag {name!r}{hint} (tags are level-3 entries of the taxonomy, e.g. {self.leaves[0]!r})")


@lru_cache(maxsize=1)
def _default_tags_config() -> TagsConfig:
    return load_tags_config({})


def load_tags_config(config: str | Path | Mapping[str, Any] | TagsConfig | None = None) -> TagsConfig:
    """The ``tags`` section: package defaults overridden by ``config``, validated.

    Every automatic rule is parsed and checked against the snapshot's columns (plus
    ``extra_columns``); an unknown column or operator is an error naming it.

    Examples
    --------
    >>> cfg = load_tags_config({"tags": {"rules": [{"tag": "value.spend_level.high", "when": "revenue_totl >= 1"}]}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: tags.rules[0].when: unknown name 'revenue_totl' in 'revenue_totl >= 1'; did you mean 'revenue_total' or 'revenue_6m' or 'revenue_12m'? (thresholds: [...])
    """
    config = section_source("tags", config)
    if config is None:
        return _default_tags_config().model_copy(deep=True)
    cfg = config if isinstance(config, TagsConfig) else load_section("tags", TagsConfig, config)
    taxonomy = Taxonomy(cfg)
    columns = [*SNAPSHOT_COLUMNS, *cfg.extra_columns]
    lines = default_thresholds(None if isinstance(config, TagsConfig) else config).constants()
    for i, rule in enumerate(cfg.rules):
        if rule.tag not in taxonomy.leaves:
            raise ConfigError(
                f"tags.rules[{i}].tag: unknown tag {rule.tag!r}"
                + (f"; closest: {difflib.get_close_matches(rule.tag, taxonomy.leaves, n=3, cutoff=0.5)}" if difflib.get_close_matches(rule.tag, taxonomy.leaves, n=1, cutoff=0.5) else "")
            )
        try:
            parse(rule.when, columns, kind="rule", where=f"tags.rules[{i}].when", constants=lines)
        except ExpressionError as exc:
            raise ConfigError(str(exc)) from None
    return cfg


def _frame(rows: list[dict], taxonomy: Taxonomy) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["customer_id", "tag", "source", "status"])
    levels = df["tag"].map(taxonomy.levels)
    df.insert(2, "level1", levels.map(lambda t: t[0]))
    df.insert(3, "level2", levels.map(lambda t: t[1]))
    df.insert(4, "level3", levels.map(lambda t: t[2]))
    return df.astype({c: "str" for c in TAG_COLUMNS}) if len(df) else df.astype({c: "str" for c in TAG_COLUMNS})


def auto_tags(snapshot: pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """Tags set by the automatic and hybrid rules, one row per customer and tag.

    Returns
    -------
    DataFrame
        :data:`TAG_COLUMNS`: ``source`` is ``auto`` or ``hybrid``; ``status`` is
        ``confirmed`` for automatic rules and ``to_confirm`` for hybrid ones.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_total": [150000.0, 60000.0], "orders_12m": [72, 2]},
    ...                     index=pd.Index(["A", "B"], name="customer_id"))
    >>> cfg = {"tags": {"rules": [
    ...     {"tag": "value.spend_level.high", "when": "revenue_total >= 100000", "mode": "hybrid"},
    ...     {"tag": "behaviour.order_frequency.high", "when": "orders_12m / 12 >= 5"}]}}
    >>> auto_tags(snap, cfg)[["customer_id", "tag", "status"]]
      customer_id                             tag      status
    0           A          value.spend_level.high  to_confirm
    1           A  behaviour.order_frequency.high   confirmed
    """
    cfg = load_tags_config(config)
    taxonomy = Taxonomy(cfg)
    rows: list[dict] = []
    ids = snapshot.index.astype(str)
    lines = resolve_thresholds(snapshot, config).constants()  # named lines: thresholds.yaml
    for rule in cfg.rules:
        expr = parse(rule.when, kind="rule", constants=lines)
        missing = sorted(expr.columns - set(snapshot.columns))
        if missing:
            raise ValueError(f"the snapshot has no column {missing[0]!r} needed by the tag rule {rule.tag}: {rule.when!r}")
        hit = expr.evaluate(snapshot).to_numpy(bool)
        status = "to_confirm" if rule.mode == "hybrid" else "confirmed"
        rows.extend({"customer_id": cid, "tag": rule.tag, "source": rule.mode, "status": status} for cid in ids[hit])
    out = _frame(rows, taxonomy)
    return out.sort_values(["customer_id"], kind="stable", ignore_index=True)


_TAG_FILE_ALIASES = {
    "customer_id": ("customer_id", "客户编号", "客户id", "客户号", "customer", "id"),
    "tag": ("tag", "标签", "标签名称", "tag_name", "label"),
    "reviewer": ("reviewer", "复核人", "标注人", "确认人", "审核人", "by"),
    "date": ("date", "日期", "确认日期", "标注日期"),
    "confirmed": ("confirmed", "确认", "是否确认", "确认结果", "ok"),
}
_YES = {"是", "确认", "y", "yes", "true", "1", "通过", "√", "✓", "confirmed"}
_NO = {"否", "不确认", "n", "no", "false", "0", "驳回", "不通过", "×", "✗", "rejected"}


def _read_tag_file(path: str | Path | pd.DataFrame, needed: Iterable[str], what: str) -> tuple[pd.DataFrame, str]:
    if isinstance(path, pd.DataFrame):
        raw, source = path, f"{what} table"
    else:
        path = Path(path)
        if not path.is_file():
            raise TagError(f"{what} file not found: {path}")
        raw, source = read_table(path, TagError, f"a {what} file"), str(path)
    found = alias_columns(raw, _TAG_FILE_ALIASES)
    missing = [c for c in needed if c not in found]
    if missing:
        raise TagError(f"{source}: missing column(s) {missing}; found {list(raw.columns)}")
    df = pd.DataFrame({c: raw[col] for c, col in found.items()}).reset_index(drop=True)
    return df, source


def _resolve_rows(df: pd.DataFrame, taxonomy: Taxonomy, source: str) -> tuple[list[str], list[str]]:
    tags, problems = [], []
    for row, (cid, name) in enumerate(zip(df["customer_id"], df["tag"]), start=2):
        if pd.isna(cid) or str(cid).strip() == "":
            problems.append(f"row {row}: customer_id is empty")
        if pd.isna(name) or str(name).strip() == "":
            problems.append(f"row {row}: tag is empty")
            tags.append("")
            continue
        try:
            tags.append(taxonomy.resolve(str(name).strip()))
        except TagError as exc:
            problems.append(f"row {row}: {exc}")
            tags.append("")
    return tags, problems


def read_manual_tags(path: str | Path | pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """Read manually assigned tags (CSV/XLSX: customer_id, tag[, reviewer, date]).

    Tags may be written as their path (``need.service.fast_response``), their labels
    (``2小时内响应``, ``需求标签/服务需求/2小时内响应``) or a synonym (``APP`` -> mobile); all
    are merged into the canonical tag.

    Raises
    ------
    TagError
        Listing every row with an empty field or an unknown tag.
    """
    cfg = load_tags_config(config)
    taxonomy = Taxonomy(cfg)
    df, source = _read_tag_file(path, ("customer_id", "tag"), "manual tags")
    tags, problems = _resolve_rows(df, taxonomy, source)
    if problems:
        raise TagError(f"{source}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    out = pd.DataFrame({"customer_id": df["customer_id"].astype(str).str.strip(), "tag": tags})
    for col in ("reviewer", "date"):
        if col in df:
            out[col] = df[col].to_numpy()
    return out.drop_duplicates(["customer_id", "tag"], ignore_index=True)


def read_confirmations(path: str | Path | pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """Read a person's decisions on hybrid tags (customer_id, tag, confirmed[, reviewer, date]).

    ``confirmed`` is yes/no (是/否, true/false, 1/0, 通过/驳回). A "no" rejects the tag (e.g. it
    came from fake orders); tags without a decision stay ``to_confirm``.

    Raises
    ------
    TagError
        Listing every row with an unknown tag or an unreadable decision.
    """
    cfg = load_tags_config(config)
    taxonomy = Taxonomy(cfg)
    df, source = _read_tag_file(path, ("customer_id", "tag", "confirmed"), "confirmations")
    tags, problems = _resolve_rows(df, taxonomy, source)
    decisions = []
    for row, value in enumerate(df["confirmed"], start=2):
        text = "" if pd.isna(value) else fold_header(value)
        if isinstance(value, (bool, np.bool_)):
            decisions.append(bool(value))
        elif text in _YES:
            decisions.append(True)
        elif text in _NO:
            decisions.append(False)
        else:
            decisions.append(None)
            problems.append(f"row {row}: confirmed {value!r} is not yes/no (是/否)")
    if problems:
        raise TagError(f"{source}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    out = pd.DataFrame({"customer_id": df["customer_id"].astype(str).str.strip(), "tag": tags, "confirmed": decisions})
    return out.drop_duplicates(["customer_id", "tag"], keep="last", ignore_index=True)


def assign_tags(
    snapshot: pd.DataFrame,
    config: Any = None,
    manual: str | Path | pd.DataFrame | None = None,
    confirmations: str | Path | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All tags of every customer: automatic, hybrid (with their confirmation) and manual.

    Parameters
    ----------
    snapshot : DataFrame
        Indexed by customer_id.
    config : path or mapping, optional
        User configuration (``tags`` section).
    manual : path or DataFrame, optional
        Manual tags (see :func:`read_manual_tags`).
    confirmations : path or DataFrame, optional
        Decisions on hybrid tags (see :func:`read_confirmations`).

    Returns
    -------
    DataFrame
        :data:`TAG_COLUMNS`, one row per customer and tag. ``source`` lists where the tag
        came from (``auto``, ``hybrid``, ``manual``, joined with ``+`` when several);
        ``status`` is ``confirmed``, ``to_confirm`` (hybrid, no decision yet) or
        ``rejected`` (a person said no). Labels: :func:`label_tags`.

    Raises
    ------
    TagError
        For manual tags or confirmations of customers that are not in the snapshot.
    """
    cfg = load_tags_config(config)
    taxonomy = Taxonomy(cfg)
    tags = auto_tags(snapshot, cfg)
    known = set(snapshot.index.astype(str))
    if confirmations is not None:
        decisions = read_confirmations(confirmations, cfg)
        unknown = sorted(set(decisions["customer_id"]) - known)
        if unknown:
            raise TagError(f"confirmations for customers not in the snapshot: {unknown}")
        key = tags["customer_id"] + "|" + tags["tag"]
        decided = dict(zip(decisions["customer_id"] + "|" + decisions["tag"], decisions["confirmed"]))
        hybrid = tags["status"] == "to_confirm"
        verdict = key.map(decided)
        tags.loc[hybrid & (verdict == True), "status"] = "confirmed"  # noqa: E712 (object values)
        tags.loc[hybrid & (verdict == False), "status"] = "rejected"  # noqa: E712
    if manual is not None:
        extra = read_manual_tags(manual, cfg)
        unknown = sorted(set(extra["customer_id"]) - known)
        if unknown:
            raise TagError(f"manual tags for customers not in the snapshot: {unknown}")
        rows = [{"customer_id": c, "tag": t, "source": "manual", "status": "confirmed"} for c, t in zip(extra["customer_id"], extra["tag"])]
        tags = pd.concat([tags, _frame(rows, taxonomy)], ignore_index=True)
    return merge_synonyms(tags, cfg)


def merge_synonyms(tags: pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """Map every tag name to its canonical tag and keep one row per customer and tag.

    Near-duplicates (``APP``, ``app``, ``手机``, ``mobile``) become one tag
    (``behaviour.channel.mobile``). When rows merge, sources are joined and the strongest
    status wins (confirmed > to_confirm > rejected).

    Parameters
    ----------
    tags : DataFrame
        At least ``customer_id`` and ``tag``; ``source`` and ``status`` optional.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["A", "A", "A", "B"], "tag": ["APP", "mobile", "移动端", "网站"]})
    >>> merge_synonyms(raw)[["customer_id", "tag"]]
      customer_id                       tag
    0           A  behaviour.channel.mobile
    1           B  behaviour.channel.online
    """
    cfg = load_tags_config(config)
    taxonomy = Taxonomy(cfg)
    df = tags.copy()
    if "source" not in df:
        df["source"] = "manual"
    if "status" not in df:
        df["status"] = "confirmed"
    cache: dict[str, str] = {}
    problems = []
    for name in pd.unique(df["tag"].astype(str)):
        try:
            cache[name] = taxonomy.resolve(name)
        except TagError as exc:
            problems.append(str(exc))
    if problems:
        raise TagError("; ".join(problems))
    df["tag"] = df["tag"].astype(str).map(cache)
    df["customer_id"] = df["customer_id"].astype(str)
    rank = {s: i for i, s in enumerate(STATUSES)}
    df["_rank"] = df["status"].map(rank)
    grouped = df.groupby(["customer_id", "tag"], sort=False)
    merged = grouped.agg(
        source=("source", lambda s: "+".join(dict.fromkeys(s.astype(str)))),
        _rank=("_rank", "min"),
    ).reset_index()
    merged["status"] = merged["_rank"].map(dict(enumerate(STATUSES)))
    rows = merged[["customer_id", "tag", "source", "status"]].to_dict("records")
    return _frame(rows, taxonomy)


def tag_matrix(tags: pd.DataFrame, index: Iterable[str], statuses: Iterable[str] = ("confirmed",)) -> pd.DataFrame:
    """Customers x tags, True where the customer has the tag (with one of ``statuses``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"customer_id": ["A", "B"], "tag": ["x.y.z", "x.y.z"], "status": ["confirmed", "to_confirm"]})
    >>> tag_matrix(t, ["A", "B", "C"])["x.y.z"].tolist()
    [True, False, False]
    """
    index = pd.Index([str(i) for i in index], name="customer_id")
    active = tags[tags["status"].isin(list(statuses))] if "status" in tags else tags
    columns = list(dict.fromkeys(tags["tag"])) if len(tags) else []
    wide = pd.crosstab(active["customer_id"].astype(str), active["tag"]) if len(active) else pd.DataFrame()
    wide = wide.reindex(index=index, columns=columns, fill_value=0).fillna(0) > 0
    wide.columns.name = "tag"
    return wide


def _outcomes(snapshot_now: pd.DataFrame, outcome: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Next-quarter repurchase (bool, NaN unknown) and satisfaction per customer of ``snapshot_now``."""
    index = snapshot_now.index
    if "repurchase" in outcome.columns:
        repurchase = outcome["repurchase"].reindex(index).astype("boolean")
    elif "orders_total" in outcome.columns and "orders_total" in snapshot_now.columns:
        # any order between the two snapshot dates
        after = outcome["orders_total"].reindex(index)
        repurchase = (after > snapshot_now["orders_total"]).astype("boolean").mask(after.isna())
    else:
        raise ValueError(
            "the outcome table needs a column 'repurchase' (true/false) or 'orders_total' "
            "(a later snapshot, compared with snapshot_now)"
        )
    if "satisfaction" in outcome.columns:
        satisfaction = pd.to_numeric(outcome["satisfaction"], errors="coerce").reindex(index).astype(float)
        as_of = snapshot_now.attrs.get("as_of")
        if "survey_date" in outcome.columns and as_of is not None:
            # only answers given after snapshot_now count as next-quarter satisfaction
            dates = pd.to_datetime(outcome["survey_date"]).reindex(index)
            satisfaction = satisfaction.where(dates > pd.Timestamp(as_of))
    else:
        satisfaction = pd.Series(np.nan, index=index)
    return repurchase, satisfaction


_FLAG_TEXT = {
    "ok": {"zh": "区分有效", "en": "separates"},
    "unused": {"zh": "无客户使用该标签", "en": "no customer has this tag"},
    "unconfirmed": {"zh": "标签均待确认或已驳回，未纳入检验", "en": "only tags still to confirm or rejected; not tested"},
    "not_tested": {"zh": "样本过少，无法检验", "en": "too few customers to test"},
    "no_longer_separates": {"zh": "已不能区分复购与满意度，建议复核或停用", "en": "no longer separates repurchase or satisfaction; review or retire"},
    "too_rare": {"zh": "覆盖率过低", "en": "too rare"},
    "too_broad": {"zh": "覆盖率过高，区分度有限", "en": "too broad"},
}


def tag_review(
    tags: pd.DataFrame,
    snapshot_now: pd.DataFrame,
    outcome: pd.DataFrame,
    config: Any = None,
    statuses: Iterable[str] = ("confirmed",),
) -> pd.DataFrame:
    """Quarterly tag review: coverage and how well each tag separates next-quarter outcomes.

    For each tag, customers with the tag are compared with those without it on

    - repurchase in the next quarter: rates, their difference, the two-proportion z
      statistic and Fisher's exact test (two-sided p);
    - satisfaction answered in the next quarter: means, difference, Welch's t test.

    A tag *separates* when either p-value is below ``review.alpha``; a tag that does not is
    flagged ``no_longer_separates``. Other flags: ``ok``, ``unused`` (nobody has it),
    ``unconfirmed`` (only hybrid tags not yet confirmed), ``not_tested`` (fewer than
    ``review.min_customers`` with or without it), ``too_rare`` / ``too_broad`` (coverage
    outside ``review.min_coverage`` .. ``review.max_coverage``).

    Parameters
    ----------
    tags : DataFrame
        From :func:`assign_tags` (or any table with ``customer_id``, ``tag``).
    snapshot_now : DataFrame
        The snapshot the tags were assigned on (its customers are the population).
    outcome : DataFrame
        Either a later snapshot (``segkit.snapshot(ds, as_of + 1 quarter)``: repurchase means
        an order between the two dates; satisfaction counts only surveys after
        ``snapshot_now``'s date), or a table indexed by customer_id with ``repurchase``
        (true/false) and optionally ``satisfaction``.
    config : path or mapping, optional
        ``tags.review`` settings (alpha, min_coverage, max_coverage, min_customers).
    statuses : iterable of str, default ("confirmed",)
        Which tag statuses count.

    Returns
    -------
    DataFrame
        Indexed by tag: ``n_tagged``, ``coverage``, ``repurchase_tagged``,
        ``repurchase_untagged``, ``repurchase_diff``, ``repurchase_z``, ``repurchase_p``,
        ``satisfaction_tagged``, ``satisfaction_untagged``, ``satisfaction_diff``,
        ``satisfaction_t``, ``satisfaction_p``, ``separates``, ``flag`` (a key; words:
        :func:`label_tags`).

    Examples
    --------
    >>> import pandas as pd
    >>> ids = [f"C{i:02d}" for i in range(20)]
    >>> snap = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    >>> tags = pd.DataFrame({"customer_id": ids[:10], "tag": "value.spend_level.high"})
    >>> outcome = pd.DataFrame({"repurchase": [True] * 8 + [False] * 4 + [True] * 2 + [False] * 6}, index=ids)
    >>> row = tag_review(tags, snap, outcome).loc["value.spend_level.high"]
    >>> [round(float(row[c]), 4) for c in ("repurchase_diff", "repurchase_z", "repurchase_p")]
    [0.6, 2.6833, 0.023]
    """
    from scipy import stats  # imported here: only the review needs it

    cfg = load_tags_config(config)
    taxonomy = Taxonomy(cfg)
    review = cfg.review
    repurchase, satisfaction = _outcomes(snapshot_now, outcome)
    merged = merge_synonyms(tags, cfg) if len(tags) else tags
    matrix = tag_matrix(merged, snapshot_now.index.astype(str), statuses)
    all_tags = list(dict.fromkeys([*taxonomy.leaves, *matrix.columns]))
    matrix = matrix.reindex(columns=all_tags, fill_value=False)
    other_status = tag_matrix(merged, snapshot_now.index.astype(str), [s for s in STATUSES if s not in set(statuses)])
    n_other = other_status.sum().reindex(all_tags, fill_value=0)
    n_all = len(matrix)
    rep = repurchase.to_numpy(dtype=object)
    rep_known = ~pd.isna(repurchase).to_numpy()
    rep_true = np.array([bool(v) if k else False for v, k in zip(rep, rep_known)])
    sat = satisfaction.to_numpy(dtype=float)
    rows = []
    for tag in all_tags:
        has = matrix[tag].to_numpy(bool)
        n_tagged = int(has.sum())
        row: dict[str, Any] = {"tag": tag}
        row["n_tagged"] = n_tagged
        row["coverage"] = n_tagged / n_all if n_all else np.nan
        a, b = has & rep_known, ~has & rep_known
        n1, n2 = int(a.sum()), int(b.sum())
        x1, x2 = int((rep_true & a).sum()), int((rep_true & b).sum())
        p1 = x1 / n1 if n1 else np.nan
        p2 = x2 / n2 if n2 else np.nan
        row["repurchase_tagged"], row["repurchase_untagged"] = p1, p2
        row["repurchase_diff"] = p1 - p2
        z = p = np.nan
        if n1 and n2:
            pool = (x1 + x2) / (n1 + n2)
            se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
            z = (p1 - p2) / se if se > 0 else np.nan
            p = float(stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)
        row["repurchase_z"], row["repurchase_p"] = z, p
        s1, s2 = sat[has & ~np.isnan(sat)], sat[~has & ~np.isnan(sat)]
        row["satisfaction_tagged"] = s1.mean() if len(s1) else np.nan
        row["satisfaction_untagged"] = s2.mean() if len(s2) else np.nan
        row["satisfaction_diff"] = row["satisfaction_tagged"] - row["satisfaction_untagged"]
        t = tp = np.nan
        if len(s1) >= 2 and len(s2) >= 2 and (s1.var(ddof=1) > 0 or s2.var(ddof=1) > 0):
            res = stats.ttest_ind(s1, s2, equal_var=False)
            t, tp = float(res.statistic), float(res.pvalue)
        row["satisfaction_t"], row["satisfaction_p"] = t, tp
        pvals = [v for v in (p, tp) if not np.isnan(v)]
        row["separates"] = bool(pvals) and min(pvals) < review.alpha
        small = min(n1, n2) < review.min_customers
        if n_tagged == 0 and n_other[tag] > 0:
            flag = "unconfirmed"
        elif n_tagged == 0:
            flag = "unused"
        elif small:
            flag = "not_tested"
        elif not row["separates"]:
            flag = "no_longer_separates"
        elif row["coverage"] < review.min_coverage:
            flag = "too_rare"
        elif row["coverage"] > review.max_coverage:
            flag = "too_broad"
        else:
            flag = "ok"
        row["flag"] = flag
        rows.append(row)
    out = pd.DataFrame(rows).set_index("tag")
    out["n_tagged"] = out["n_tagged"].astype("int64")
    out["separates"] = out["separates"].astype(bool)
    out["flag"] = out["flag"].astype("str")
    return out


def label_tags(tags: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.DataFrame:
    """The words for a tag table or a tag review: ``tag_label`` (and ``flag_label``).

    The edge function of tags: labels ``level1/level2/level3`` from the taxonomy, and the
    review flag in words when ``tags`` has a ``flag`` column.

    Parameters
    ----------
    tags : DataFrame
        :func:`assign_tags` / :func:`auto_tags` (a ``tag`` column) or :func:`tag_review`
        (indexed by tag).
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
        The configuration the tags were made with (its taxonomy).

    Returns
    -------
    DataFrame
        Indexed like ``tags``: ``tag_label`` (a tag outside the taxonomy keeps its name) and,
        for a review, ``flag_label``.

    Examples
    --------
    >>> import pandas as pd
    >>> label_tags(pd.DataFrame({"tag": ["value.spend_level.high"]}), "en")["tag_label"].tolist()
    ['Value/Spend level/High spend']
    """
    check_lang(lang)
    taxonomy = Taxonomy(load_tags_config(config))
    names = tags["tag"] if "tag" in tags.columns else pd.Series(tags.index, index=tags.index)
    out = pd.DataFrame(index=tags.index)
    out["tag_label"] = names.map(lambda t: taxonomy.label(t, lang) if t in taxonomy.nodes else str(t)).astype("str")
    if "flag" in tags.columns:
        out["flag_label"] = tags["flag"].map(lambda f: _FLAG_TEXT[f][lang]).astype("str")
    return out
