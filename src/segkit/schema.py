"""Table contracts: the tables segkit reads, their columns, aliases and rules.

Every table is declared once here. :mod:`segkit.io` uses the declarations to map file headers
(English or the Chinese terms of the handbooks) onto canonical column names, to parse values,
and to send rows that break a rule to ``Dataset.rejected`` with the file, row, column, value
and rule.

Canonical names (use these in code): ``customer_id``, ``order_date``, ``amount``, ... A header
written with a unit of 万元 (``交易金额(万元)``, ``amount_10k_cny``) is converted to yuan.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from segkit.errors import SchemaError  # defined with every segkit error; importable here as before

__all__ = [
    "Column",
    "Table",
    "TABLES",
    "SchemaError",
    "normalise_header",
    "clean_header",
    "fold_header",
    "credit_code_check_char",
    "is_valid_credit_code",
    "CREDIT_CODE_CHARS",
]


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    ``kind`` is one of ``id``, ``str``, ``date``, ``money``, ``float``, ``int``, ``bool``,
    ``vocab`` (normalised through ``segkit/defaults/vocabularies.yaml[vocab]``), ``credit_code``.
    """

    name: str
    zh: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    vocab: str | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    columns: tuple[Column, ...]
    key: str | None = None
    date_column: str | None = None
    file_stems: tuple[str, ...] = field(default=())
    # (later, earlier): a row whose ``later`` date is before its ``earlier`` date is rejected
    not_before: tuple[tuple[str, str], ...] = ()

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


C = Column

CUSTOMERS = Table(
    name="customers",
    zh="客户信息",
    key="customer_id",
    file_stems=("customers", "customer", "客户", "客户信息", "客户档案", "客户表"),
    columns=(
        C("customer_id", "客户编号", "id", True, ("客户id", "客户代码", "客户号", "id", "customer", "customer_no"), "Customer id, unique"),
        C("name", "客户名称", "str", True, ("公司名称", "企业名称", "客户名", "customer_name", "company", "company_name"), "Company or person name"),
        C("credit_code", "统一社会信用代码", "credit_code", False, ("信用代码", "社会信用代码", "uscc", "unified_social_credit_code"), "18-character unified social credit code (GB 32100-2015); check character validated"),
        C("region", "注册地区", "str", False, ("地区", "区域", "所在地区", "省份"), "Region of registration"),
        C("industry", "所属行业", "vocab", False, ("行业", "行业分类"), "Industry (standard vocabulary)", vocab="industry"),
        C("employees", "员工人数", "int", False, ("员工数", "人数", "employee_count", "headcount"), "Number of employees", low=0),
        C("annual_revenue", "年营收", "money", False, ("年营业收入", "营业收入", "年收入"), "Company annual revenue, CNY", low=0),
        C("customer_type", "客户类型", "vocab", False, ("类型",), "dealer / end customer / partner", vocab="customer_type"),
        C("need_type", "需求类型", "vocab", False, ("核心需求类型", "核心需求", "need"), "Need type (4.4)", vocab="need_type"),
        C("stage", "合作阶段", "vocab", False, ("客户阶段", "生命周期阶段", "lifecycle_stage", "status"), "Cooperation stage (4.1)", vocab="stage"),
        C("contact_name", "关键联系人", "str", False, ("联系人", "联系人姓名", "contact"), "Key contact name (personal data)"),
        C("contact_title", "联系人职务", "str", False, ("职务", "职位", "title"), "Key contact title"),
        C("phone", "联系电话", "str", False, ("电话", "手机", "手机号", "mobile", "telephone"), "Contact phone (personal data)"),
        C("email", "电子邮箱", "str", False, ("邮箱", "e-mail", "mail"), "Contact e-mail (personal data)"),
        C("first_cooperation_date", "首次合作时间", "date", False, ("首次合作日期", "合作开始日期", "签约日期", "first_deal_date"), "Date of first cooperation"),
        C("owner", "客户负责人", "str", False, ("负责人", "销售负责人", "销售代表", "客户经理", "sales_rep", "account_manager"), "Sales owner"),
        C("department", "所属部门", "str", False, ("部门", "销售部门", "dept"), "Owner's department"),
        C("renewal_intent", "续约意向", "bool", False, ("是否续约", "续约", "renewal"), "Intends to renew (yes/no)"),
        C("record_updated", "最近更新日期", "date", False, ("更新日期", "档案更新日期", "最后更新", "last_updated", "updated_at"), "Date the record was last reviewed"),
    ),
)

TRANSACTIONS = Table(
    name="transactions",
    zh="交易记录",
    key="order_id",
    date_column="order_date",
    file_stems=("transactions", "orders", "order", "交易", "订单", "交易记录", "订单记录"),
    columns=(
        C("order_id", "订单编号", "id", False, ("订单号", "交易编号", "单号", "transaction_id"), "Order id (unique when given)"),
        C("customer_id", "客户编号", "id", True, ("客户id", "客户代码", "客户号", "customer"), "Customer id"),
        C("order_date", "交易日期", "date", True, ("下单日期", "订单日期", "成交日期", "日期", "date", "transaction_date"), "Order date"),
        C("amount", "交易金额", "money", True, ("订单金额", "金额", "成交金额", "销售额", "value", "revenue"), "Order amount in CNY; negative = return/refund"),
        C("product_line", "产品线", "str", False, ("产品", "产品类别", "产品线名称", "product"), "Product line"),
        C("channel", "渠道", "vocab", False, ("交易渠道", "销售渠道", "下单渠道"), "Sales channel", vocab="channel"),
    ),
)

INTERACTIONS = Table(
    name="interactions",
    zh="互动记录",
    date_column="date",
    file_stems=("interactions", "interaction", "互动", "互动记录", "跟进记录", "contacts"),
    not_before=(("resolved_date", "date"),),  # a complaint is not resolved before it was made
    columns=(
        C("interaction_id", "互动编号", "id", False, ("记录编号", "id"), "Interaction id"),
        C("customer_id", "客户编号", "id", True, ("客户id", "客户代码", "客户号", "customer"), "Customer id"),
        C("date", "互动日期", "date", True, ("日期", "跟进日期", "interaction_date"), "Date of the interaction"),
        C("type", "互动类型", "vocab", True, ("类型", "跟进方式", "interaction_type"), "visit / call / email / online inquiry / new-need inquiry / complaint / key-contact change", vocab="interaction_type"),
        C("channel", "互动渠道", "vocab", False, ("渠道",), "Channel", vocab="channel"),
        C("resolved_date", "解决日期", "date", False, ("处理完成日期", "resolved", "resolution_date"), "For complaints: date resolved"),
        C("note", "备注", "str", False, ("说明", "内容", "notes", "remark"), "Free text"),
    ),
)

SURVEYS = Table(
    name="surveys",
    zh="满意度调查",
    date_column="date",
    file_stems=("surveys", "survey", "满意度", "满意度调查", "调查", "nps"),
    columns=(
        C("customer_id", "客户编号", "id", True, ("客户id", "客户代码", "客户号", "customer"), "Customer id"),
        C("date", "调查日期", "date", True, ("日期", "survey_date"), "Survey date"),
        C("satisfaction", "满意度", "float", False, ("满意度评分", "满意度得分", "csat", "服务反馈评分"), "Satisfaction 0-100", low=0, high=100),
        C("nps", "净推荐值", "int", False, ("推荐意愿", "nps评分", "推荐评分", "nps_score", "likelihood_to_recommend"), "Likelihood to recommend 0-10", low=0, high=10),
    ),
)

CONTRACTS = Table(
    name="contracts",
    zh="合同记录",
    key="contract_id",
    # a contract that starts after the as-of date is rejected like a later order; one running
    # past it is the normal case (its end is not checked against the as-of date)
    date_column="contract_start",
    file_stems=("contracts", "contract", "合同", "合同记录", "合同台账", "续约", "续约记录", "renewals"),
    not_before=(("contract_end", "contract_start"),),  # a contract does not end before it starts
    columns=(
        C("contract_id", "合同编号", "id", False, ("合同号", "合同id", "contract_no", "contract_number"), "Contract id (unique when given)"),
        C("customer_id", "客户编号", "id", True, ("客户id", "客户代码", "客户号", "customer"), "Customer id"),
        C("contract_start", "合同开始日期", "date", True, ("合同起始日期", "合同生效日期", "开始日期", "起始日期", "生效日期", "签约开始日期", "start_date", "contract_start_date", "valid_from"), "First day the contract runs"),
        C("contract_end", "合同结束日期", "date", True, ("合同到期日期", "合同终止日期", "到期日期", "结束日期", "终止日期", "end_date", "contract_end_date", "expiry_date", "valid_to"), "Last day the contract runs"),
        C("amount", "合同金额", "money", False, ("合同额", "合同总额", "金额", "contract_amount", "contract_value", "value"), "Contract value in CNY", low=0),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (CUSTOMERS, TRANSACTIONS, INTERACTIONS, SURVEYS, CONTRACTS)}

_UNIT_WAN = re.compile(r"[（(]\s*(万元|万|wan|10k ?cny|10k)\s*[)）]|_?(in_)?(10k_cny|wan)$", re.I)
_UNIT_YUAN = re.compile(r"[（(]\s*(元|人民币|cny|rmb|yuan)\s*[)）]|_(cny|rmb|yuan)$", re.I)


def clean_header(header: object) -> str:
    r"""A header as a person meant it: full-width characters half-width, no BOM, no outer spaces.

    Examples
    --------
    >>> clean_header("\ufeff客户编号\u3000"), clean_header("（万元）")
    ('客户编号', '(万元)')
    """
    return unicodedata.normalize("NFKC", str(header)).strip().lstrip("\ufeff").strip()


def fold_header(header: object) -> str:
    r"""A header (or a hand-typed key) folded for comparison: the one header normaliser.

    :func:`clean_header`, then lower case, runs of spaces and hyphens become ``_``.

    Examples
    --------
    >>> fold_header("\ufeff Order\u3000Date "), fold_header("ＣＵＳＴＯＭＥＲ-ID"), fold_header("低价值客户")
    ('order_date', 'customer_id', '低价值客户')
    """
    return re.sub(r"[\s\-]+", "_", clean_header(header).lower()).strip("_")


def normalise_header(header: object) -> tuple[str, float]:
    """Normalise a file header for alias lookup; return ``(key, unit multiplier)``.

    Full-width characters become half-width, case and spaces are ignored, a unit written in
    the header is removed and returned as a multiplier (万元 -> 10,000).

    Examples
    --------
    >>> normalise_header("交易金额（万元）")
    ('交易金额', 10000.0)
    >>> normalise_header(" Order Date ")
    ('order_date', 1.0)
    """
    text = clean_header(header)
    multiplier = 1.0
    if _UNIT_WAN.search(text):
        multiplier = 10_000.0
        text = _UNIT_WAN.sub("", text)
    else:
        text = _UNIT_YUAN.sub("", text)
    return fold_header(text), multiplier


def _alias_index(table: Table) -> dict[str, str]:
    index: dict[str, str] = {}
    for col in table.columns:
        for alias in (col.name, col.zh, *col.aliases):
            index.setdefault(normalise_header(alias)[0], col.name)
    return index


ALIASES: dict[str, dict[str, str]] = {name: _alias_index(t) for name, t in TABLES.items()}

# --- unified social credit code (统一社会信用代码), GB 32100-2015 -------------------------------
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(rf"^[{CREDIT_CODE_CHARS}]{{18}}$")


def credit_code_check_char(first17: str) -> str:
    """The check character (18th) of a unified social credit code, per GB 32100-2015.

    Each of the first 17 characters has a value in ``0123456789ABCDEFGHJKLMNPQRTUWXY``
    (I, O, S, V, Z are not used); the check value is ``31 - sum(w_i * c_i) mod 31``
    (31 becomes 0) with weights ``3**i mod 31``.

    Examples
    --------
    >>> credit_code_check_char("91350100M000100Y4")
    '3'
    """
    if len(first17) != 17 or any(ch not in CREDIT_CODE_CHARS for ch in first17):
        raise ValueError(f"need 17 characters from {CREDIT_CODE_CHARS!r}, got {first17!r}")
    total = sum(CREDIT_CODE_CHARS.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True when ``code`` is 18 valid characters whose last one is the right check character.

    Examples
    --------
    >>> is_valid_credit_code("91350100M000100Y43")
    True
    >>> is_valid_credit_code("91350100M000100Y44")
    False
    """
    code = str(code).strip().upper()
    return bool(_CREDIT_RE.match(code)) and credit_code_check_char(code[:17]) == code[17]
