"""Synthetic but realistic B2B CRM sample data (the ``segkit sample`` command writes it).

:func:`generate_sample` writes the folder ``data/sample`` ships with: four CSV files exported
the way a Chinese CRM/ERP exports them (Chinese headers, UTF-8 with BOM, dates ``YYYY-MM-DD``,
amounts in yuan with two decimals), a ``dataset.yaml`` and a ``README.md`` that documents
every column and how the data was made.

The data come from a behavioural model, not from shuffled noise, so that every segkit stage
has something to find:

* **customers** are companies of three sizes in eleven industries and seven regions, looked
  after by eleven sales owners in four departments; most are acquired between 2019 and 2026,
  a few are still prospects or in negotiation;
* **orders** follow a Poisson process per customer whose rate is heterogeneous across
  customers (gamma), with per-customer average order values (gamma-gamma), seasonality
  (Q4 peak, Chinese New Year and Golden Week dips, few weekend orders), a trend per customer
  (growing and shrinking accounts), step-ups after an upsell, and a dropout time with a
  heterogeneous hazard (Pareto/NBD-like), preceded by a decline phase;
* **interactions** follow the sales owner's contact plan, which reacts every quarter to the
  account's trailing 12-month revenue (so interaction counts and revenue agree most of the
  time, but not always -- the handbook's "borderline" cases), plus order follow-ups, online
  inquiries, new-need inquiries before upsells, complaints and key-contact changes (both much
  more frequent while a customer is drifting away);
* **surveys**: about one per active customer and year; satisfaction and NPS track the
  customer's health and drop in the decline phase and after complaints;
* **contracts**: annual framework contracts (B2B 续约) of most signed customers, from the first
  cooperation date, renewed (sometimes a few weeks late) until the customer drops out: the
  contract she is in when she drops out is not renewed.

A small, fixed set of dirty records (unparseable dates, non-numeric amounts, unknown or
duplicate customer ids, invalid credit codes, out-of-range scores, ...) is added on purpose so
that :func:`segkit.io.load_dataset` has real rejections to report; :data:`DIRTY_RECORDS`
lists them and the README documents them.

Same seed, same bytes: all randomness comes from :class:`numpy.random.Generator` streams
seeded from ``seed`` (one for the behaviour, one for names, labels and dirty records, one for
the contracts, so that adding them left the other files as they were), values
are formatted explicitly and nothing depends on the clock or on set/dict ordering.

Why this module is long: it is one seeded generator whose parameters, simulation, export-style
tables, dirty records and generated README share one set of constants (``P``,
:data:`DIRTY_RECORDS`, the synonyms) and must stay byte-for-byte reproducible; the README is
written from those same constants so that it always describes the files beside it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segkit._version import __version__
from segkit.config import default_section
from segkit.schema import CREDIT_CODE_CHARS, TABLES, credit_code_check_char

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_CUSTOMERS",
    "AS_OF",
    "DATA_START",
    "SAMPLE_FILES",
    "DIRTY_RECORDS",
    "PHONE_PREFIX",
    "EMAIL_DOMAIN",
    "generate_sample",
    "sample_tables",
]

DEFAULT_SEED = 20260930
DEFAULT_CUSTOMERS = 2000
#: First and last day of the order history (the as-of date of the export).
DATA_START = "2023-01-01"
AS_OF = "2026-09-30"
#: Files written by :func:`generate_sample`, in this order.
SAMPLE_FILES = ("customers.csv", "orders.csv", "interactions.csv", "surveys.csv", "contracts.csv", "dataset.yaml",
                "README.md")
#: Every phone number in the sample starts with this: mainland mobile numbers start with
#: 13-19, so a number starting with 100 cannot belong to anyone.
PHONE_PREFIX = "100-0000-"
#: E-mail addresses use sub-domains of example.com, reserved for documentation (RFC 2606).
EMAIL_DOMAIN = "example.com"

_FILE_TABLE = {"customers.csv": "customers", "orders.csv": "transactions", "interactions.csv": "interactions", "surveys.csv": "surveys",
               "contracts.csv": "contracts"}

# --------------------------------------------------------------------------------------------
# Dirty records added on purpose. (file, column, value written, what the loader should do)
# The counts are fixed; which rows carry them depends on the seed.
# --------------------------------------------------------------------------------------------
DIRTY_RECORDS: tuple[tuple[str, str, str, int, str], ...] = (
    # file, canonical column, example value, number of rows, expected handling
    ("customers.csv", "customer_id", "(a second row with an existing id)", 2, "reject: duplicate customer id"),
    ("customers.csv", "credit_code", "(18 characters, wrong check character)", 3, "reject: invalid credit code"),
    ("customers.csv", "record_updated", "2025-02-30", 1, "report; optional column, the row is kept"),
    ("customers.csv", "industry", "新材料", 2, "keep; report unknown vocabulary value"),
    ("orders.csv", "order_date", "2024/13/45, N/A, 2025-02-30, 2023-11-31", 8, "reject: unparseable date"),
    ("orders.csv", "amount", "待确认, #VALUE!", 6, "reject: non-numeric amount"),
    ("orders.csv", "customer_id", "(an id above the last customer id)", 6, "reject: unknown customer"),
    ("orders.csv", "order_date", "2026-10-08, 2026-10-15, 2026-11-02", 3, "reject: date after as-of"),
    ("interactions.csv", "date", "2024/13/45, N/A", 5, "reject: unparseable date"),
    ("interactions.csv", "customer_id", "(an id above the last customer id)", 4, "reject: unknown customer"),
    ("interactions.csv", "customer_id", "(empty)", 2, "reject: empty id"),
    ("interactions.csv", "type", "微信", 3, "keep; report unknown vocabulary value"),
    ("surveys.csv", "satisfaction", "120, 105, 999, -5", 4, "reject: out of range 0-100"),
    ("surveys.csv", "nps", "11, 15", 2, "reject: out of range 0-10"),
    ("surveys.csv", "date", "2025/02/30", 2, "reject: unparseable date"),
    ("contracts.csv", "contract_end", "(start and end swapped)", 2, "reject: end before start"),
    ("contracts.csv", "customer_id", "(an id above the last customer id)", 2, "reject: unknown customer"),
)

# --------------------------------------------------------------------------------------------
# Vocabulary: which synonyms the sample writes (small share) besides the standard zh labels.
# Every one of them must be a synonym of that key in defaults/vocabularies.yaml (a test checks).
# --------------------------------------------------------------------------------------------
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "industry": {
        "manufacturing": ("生产业", "加工业", "机械制造"), "retail": ("零售", "批发零售"),
        "it_services": ("互联网", "软件和信息技术服务业"), "healthcare": ("医疗器械", "医药"),
        "services": ("商务服务", "咨询服务"), "public_sector": ("事业单位", "公用事业"),
        "education": ("教育培训",), "finance": ("金融",), "logistics": ("物流", "交通运输"),
        "construction": ("建筑业", "房地产"), "energy": ("化工", "能源"),
    },
    "channel": {
        "online": ("官网", "电商"), "mobile": ("APP", "小程序"), "direct_sales": ("线下", "直销团队"),
        "dealer": ("代理商", "分销"), "phone": ("电销", "电话销售"),
    },
    "customer_type": {"end_customer": ("终端", "直客"), "dealer": ("代理商", "分销商"), "partner": ("战略伙伴",)},
    "need_type": {
        "product_purchase": ("产品采购", "标准产品采购"), "technical_service": ("技术服务", "设备维护服务"),
        "solution_customisation": ("定制化", "合作开发型"), "strategic": ("战略合作",),
    },
    "stage": {"prospect": ("线索",), "intent": ("洽谈中",), "active": ("合作中客户", "老客户"), "churned": ("流失客户", "已流失")},
    "interaction_type": {
        "visit": ("上门拜访",), "call": ("电话沟通", "电话回访"), "email": ("电子邮件",), "online_inquiry": ("线上咨询",),
        "new_need_inquiry": ("新产品咨询",), "complaint": ("客诉",), "key_contact_change": ("联系人变更",),
    },
}
#: Share of vocabulary values written as a synonym instead of the standard label.
SYNONYM_SHARE = 0.03


# --------------------------------------------------------------------------------------------
# Model parameters (documented in the README; change them here, never in the code below)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Parameters:
    share_prospect: float = 0.02
    share_intent: float = 0.02
    # acquisitions (first cooperation) per year, relative; customers who had churned before
    # 2023-01-01 are not in the export, so early years are the surviving customers only
    acquisition_years: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026)
    acquisition_weights: tuple[float, ...] = (0.05, 0.05, 0.08, 0.11, 0.16, 0.19, 0.21, 0.15)
    size_shares: tuple[float, float, float] = (0.15, 0.45, 0.40)  # large, medium, small
    # orders per year: gamma(shape) with a mean per size, times a factor per need type
    rate_shape: float = 4.5
    rate_mean: tuple[float, float, float] = (15.0, 9.0, 6.0)
    # mean order value: base per size x need factor x (q-1)/Gamma(q, 1)  (gamma-gamma, q = spend_q)
    order_value: tuple[float, float, float] = (55_000.0, 23_000.0, 20_000.0)
    spend_q: float = 8.0
    spend_p: float = 3.0  # within-customer order values: Gamma(p, mean/p)
    replenish_share: float = 0.5  # of small/medium dealers buying products: frequent small orders
    replenish_factor: float = 6.0  # their rate is x this, their order value / this (x 1.2)
    trend_mean: float = 0.03  # log growth of the purchase rate per year
    trend_sd: float = 0.18
    churn_hazard: float = 0.11  # per year, before health and frailty
    churn_health_effect: float = 0.45
    frailty_shape: float = 3.0
    decline_days: tuple[int, int] = (100, 280)
    decline_floor: float = 0.15
    upsell_rate: float = 0.13  # per year
    upsell_step: tuple[float, float] = (1.2, 1.6)
    project_rate: float = 0.10  # per year, solution and strategic customers only
    refund_share: float = 0.004
    # sales contact plan: contacts per month by the account class the owner sees each quarter
    class_thresholds: tuple[float, float, float] = (450_000.0, 150_000.0, 40_000.0)
    class_contacts: tuple[float, float, float, float, float] = (2.6, 1.1, 0.8, 0.6, 0.12)
    followup_share: float = 0.15
    online_inquiry_rate: float = 0.05  # per month
    exploratory_need_rate: float = 0.05  # per year
    complaint_rate: float = 0.02  # per month, healthy customer
    contact_change_rate: float = 0.035  # per year, healthy customer
    complaint_decline: float = 5.0  # extra complaints at the end of the decline phase (x 1 + this)
    contact_change_decline: float = 10.0  # same for key-contact changes
    survey_response: float = 0.85
    overdue_share: float = 0.12
    # contracts: share of signed customers with an annual framework contract (large, medium,
    # small), share of renewals signed late and by how many days (within renewals.grace_days)
    contract_share: tuple[float, float, float] = (0.9, 0.7, 0.45)
    late_renewal_share: float = 0.12
    late_renewal_days: tuple[int, int] = (5, 60)


P = _Parameters()

PRODUCT_LINES = ("工业设备", "软件订阅", "技术服务", "耗材配件", "解决方案")
_LINE_VALUE = np.array([1.5, 0.9, 0.7, 0.4, 2.0])
_LINE_UNIT = np.array([100.0, 1200.0, 500.0, 0.01, 1000.0])  # prices are multiples of this
INDUSTRIES = ("manufacturing", "it_services", "retail", "healthcare", "services", "construction",
              "logistics", "energy", "education", "public_sector", "finance")
_INDUSTRY_SHARE = np.array([0.26, 0.13, 0.12, 0.09, 0.09, 0.07, 0.06, 0.06, 0.05, 0.04, 0.03])
_INDUSTRY_LINES = {  # preference over PRODUCT_LINES
    "manufacturing": (5, 1, 2, 4, 1), "it_services": (0.5, 5, 3, 0.5, 2), "retail": (1, 3, 1, 3, 1),
    "healthcare": (3, 2, 2, 3, 1), "services": (0.5, 4, 3, 1, 1), "construction": (3, 1, 2, 3, 2),
    "logistics": (2, 3, 2, 2, 1), "energy": (4, 1, 3, 3, 2), "education": (1, 4, 2, 2, 2),
    "public_sector": (2, 2, 3, 1, 3), "finance": (0.5, 5, 3, 0.5, 3),
}
_INDUSTRY_WORDS = {
    "manufacturing": ("精密机械", "机电设备", "智能装备", "汽车零部件", "电子科技", "模具"),
    "it_services": ("信息技术", "软件", "网络科技", "数据科技", "智能科技"),
    "retail": ("商贸", "百货", "贸易", "连锁超市", "电子商务"),
    "healthcare": ("医疗器械", "生物医药", "健康科技", "医药"),
    "services": ("企业管理咨询", "餐饮管理", "物业服务", "人力资源"),
    "construction": ("建设工程", "置业", "建筑装饰", "建材"),
    "logistics": ("物流", "供应链管理", "运输", "仓储"),
    "energy": ("化工", "新能源", "能源科技", "石化"),
    "education": ("教育科技", "职业培训", "文化教育"),
    "public_sector": ("水务", "燃气", "环境工程", "城市建设投资"),
    "finance": ("融资租赁", "保险代理", "投资管理"),
}
_REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")
_REGION_SHARE = np.array([0.32, 0.18, 0.20, 0.10, 0.09, 0.05, 0.06])
_CITIES = {  # city, 6-digit administrative division code used in the credit code
    "华东": (("上海", "310115"), ("苏州", "320500"), ("杭州", "330100"), ("南京", "320100"), ("宁波", "330200"),
             ("合肥", "340100"), ("济南", "370100"), ("青岛", "370200"), ("无锡", "320200"), ("厦门", "350200")),
    "华北": (("北京", "110108"), ("天津", "120116"), ("石家庄", "130100"), ("太原", "140100"), ("呼和浩特", "150100")),
    "华南": (("广州", "440100"), ("深圳", "440300"), ("东莞", "441900"), ("佛山", "440600"), ("南宁", "450100"), ("海口", "460100")),
    "华中": (("武汉", "420100"), ("长沙", "430100"), ("郑州", "410100"), ("南昌", "360100")),
    "西南": (("成都", "510100"), ("重庆", "500000"), ("昆明", "530100"), ("贵阳", "520100")),
    "西北": (("西安", "610100"), ("兰州", "620100"), ("银川", "640100"), ("乌鲁木齐", "650100")),
    "东北": (("沈阳", "210100"), ("大连", "210200"), ("长春", "220100"), ("哈尔滨", "230100")),
}
# Owners: (name, department). Regional departments cover regions; 大客户部 takes most large accounts.
OWNERS = (
    ("王磊", "大客户部"), ("陈静", "大客户部"),
    ("刘洋", "华东销售部"), ("张敏", "华东销售部"), ("李强", "华东销售部"),
    ("赵婷", "华北销售部"), ("周杰", "华北销售部"), ("吴芳", "华北销售部"),
    ("孙浩", "华南销售部"), ("徐丽", "华南销售部"), ("马超", "华南销售部"),
)
_DEPARTMENT_REGIONS = {"华东销售部": ("华东", "华中"), "华北销售部": ("华北", "东北", "西北"), "华南销售部": ("华南", "西南")}
_SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
             ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
             ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
             ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
             ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"))
_GIVEN = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
          ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"),
          ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"),
          ("文", "wen"), ("辉", "hui"), ("鹏", "peng"), ("华", "hua"), ("建", "jian"), ("晓", "xiao"), ("宇", "yu"),
          ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("斌", "bin"), ("浩", "hao"), ("凯", "kai"), ("欣", "xin"),
          ("佳", "jia"), ("志", "zhi"), ("海", "hai"), ("峰", "feng"), ("振", "zhen"))
_BRAND = (("瑞", "rui"), ("丰", "feng"), ("华", "hua"), ("信", "xin"), ("恒", "heng"), ("泰", "tai"), ("鑫", "xin"),
          ("宏", "hong"), ("盛", "sheng"), ("博", "bo"), ("新", "xin"), ("永", "yong"), ("嘉", "jia"), ("德", "de"),
          ("裕", "yu"), ("金", "jin"), ("天", "tian"), ("中", "zhong"), ("海", "hai"), ("启", "qi"), ("明", "ming"),
          ("安", "an"), ("兴", "xing"), ("远", "yuan"), ("正", "zheng"), ("汇", "hui"), ("锦", "jin"), ("广", "guang"),
          ("晨", "chen"), ("卓", "zhuo"), ("凯", "kai"), ("荣", "rong"), ("佳", "jia"), ("思", "si"), ("达", "da"),
          ("诚", "cheng"), ("万", "wan"), ("润", "run"), ("昌", "chang"), ("通", "tong"), ("联", "lian"), ("创", "chuang"))
_COMPANY_SUFFIX = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
_TITLES = {
    0: ("采购总监", "采购经理", "技术总监", "IT总监", "运营总监", "副总经理", "项目经理"),
    1: ("采购经理", "总经理", "技术总监", "副总经理", "运营经理", "IT经理", "生产经理"),
    2: ("总经理", "总经理", "董事长", "采购主管", "行政主管", "财务经理"),
}
_NOTES = {
    "visit": ("季度业务回顾", "新品介绍", "技术交流", "合同续签洽谈", "现场需求调研", "高层拜访"),
    "call": ("订单跟进", "回款沟通", "交付进度确认", "客户回访", "报价沟通"),
    "email": ("发送产品资料", "报价单", "发货通知", "季度服务报告", "会议纪要"),
    "online_inquiry": ("咨询产品价格", "咨询交付周期", "咨询售后政策", "咨询技术参数"),
    "new_need_inquiry": ("咨询新产品线", "提出定制化需求", "询问扩容方案", "咨询新项目合作"),
    "complaint": ("交付延迟", "产品质量问题", "售后响应慢", "发票开具错误", "价格争议"),
    "key_contact_change": ("原联系人离职", "联系人岗位调整", "决策人变更"),
}
_ITYPES = ("visit", "call", "email", "online_inquiry", "new_need_inquiry", "complaint", "key_contact_change")
_CHANNELS = ("online", "mobile", "direct_sales", "dealer", "phone")
# interaction type -> interaction channel (the channel vocabulary has no e-mail or visit key)
_ITYPE_CHANNEL = {"visit": ("direct_sales",), "call": ("phone",), "email": ("online",),
                  "online_inquiry": ("online", "mobile"), "new_need_inquiry": ("online", "phone", "direct_sales"),
                  "complaint": ("phone", "online"), "key_contact_change": ("phone", "direct_sales")}
# Chinese New Year (春节) in the data window
_CNY = ("2023-01-22", "2024-02-10", "2025-01-29", "2026-02-17")
_MONTH_SEASON = np.array([0.85, 0.8, 1.0, 0.95, 1.0, 1.1, 0.9, 0.9, 1.05, 0.95, 1.15, 1.4])


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def _dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="int64").astype("datetime64[D]"), unit="D")


# --------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------
@dataclass
class _World:
    """Latent and observed state of the simulation (one entry per customer unless noted)."""

    n: int
    kind: np.ndarray = field(default=None)  # 0 prospect, 1 intent, 2 acquired
    acq: np.ndarray = field(default=None)  # first cooperation day (int days since 1970), -1 if none
    size: np.ndarray = field(default=None)  # 0 large, 1 medium, 2 small
    industry: np.ndarray = field(default=None)
    region: np.ndarray = field(default=None)
    city: np.ndarray = field(default=None)
    health: np.ndarray = field(default=None)
    need: np.ndarray = field(default=None)  # need type (index into the need_type keys)
    ctype: np.ndarray = field(default=None)  # customer type
    replenish: np.ndarray = field(default=None)  # frequent-replenishment dealers
    rate: np.ndarray = field(default=None)  # orders per year
    mean_order: np.ndarray = field(default=None)
    trend: np.ndarray = field(default=None)
    churn: np.ndarray = field(default=None)  # dropout day (may lie after AS_OF)
    decline: np.ndarray = field(default=None)  # length of the decline phase, days
    owner: np.ndarray = field(default=None)
    lead_day: np.ndarray = field(default=None)  # prospects / intents: first contact
    upsells: list = field(default_factory=list)  # (customer, day, factor, new line or -1)
    lines: list = field(default_factory=list)  # per customer: initial product lines
    orders: dict = field(default_factory=dict)
    interactions: dict = field(default_factory=dict)
    surveys: dict = field(default_factory=dict)

    def activity(self, days: np.ndarray, who: np.ndarray | None = None) -> np.ndarray:
        """Purchase/engagement level in [0, 1]: 1 before the decline phase, 0 after dropout."""
        who = np.arange(self.n) if who is None else who
        churn = self.churn[who].astype(float)
        start = churn - self.decline[who]
        days = np.asarray(days, dtype=float)
        frac = np.clip((churn - days) / np.maximum(churn - start, 1.0), 0.0, 1.0)
        level = P.decline_floor + (1 - P.decline_floor) * frac
        level = np.where(days < start, 1.0, level)
        return np.where(days >= churn, 0.0, level)


def _simulate(seed: int, n: int) -> _World:
    rng = np.random.default_rng(seed)
    w = _World(n=n)
    start, as_of = _day(DATA_START), _day(AS_OF)

    # --- who the customers are ---------------------------------------------------------------
    u = rng.random(n)
    w.kind = np.where(u < P.share_prospect, 0, np.where(u < P.share_prospect + P.share_intent, 1, 2))
    years = rng.choice(np.array(P.acquisition_years), size=n, p=np.array(P.acquisition_weights))
    year_start = np.array([_day(f"{y}-01-01") for y in years])
    year_len = np.where(years == 2026, _day("2026-09-20") - _day("2026-01-01"), 365)
    w.acq = np.where(w.kind == 2, year_start + np.floor(rng.random(n) * year_len).astype(int), -1)
    w.size = rng.choice(3, size=n, p=np.array(P.size_shares))
    w.industry = rng.choice(len(INDUSTRIES), size=n, p=_INDUSTRY_SHARE / _INDUSTRY_SHARE.sum())
    w.region = rng.choice(len(_REGIONS), size=n, p=_REGION_SHARE / _REGION_SHARE.sum())
    w.city = np.array([rng.integers(len(_CITIES[_REGIONS[r]])) for r in w.region])
    w.health = rng.standard_normal(n)
    need_p = {0: (0.25, 0.2, 0.3, 0.25), 1: (0.4, 0.27, 0.23, 0.10), 2: (0.55, 0.3, 0.12, 0.03)}
    w.need = np.array([rng.choice(4, p=need_p[s]) for s in w.size])
    type_p = {0: (0.80, 0.08, 0.12), 1: (0.68, 0.22, 0.10), 2: (0.68, 0.22, 0.10)}
    w.ctype = np.array([rng.choice(3, p=type_p[s]) for s in w.size])

    # --- purchase behaviour ------------------------------------------------------------------
    need_rate = np.array([1.25, 1.0, 0.6, 1.2])[w.need]
    need_value = np.array([0.8, 0.8, 2.2, 1.3])[w.need]
    w.rate = rng.gamma(P.rate_shape, np.array(P.rate_mean)[w.size] / P.rate_shape) * need_rate
    w.mean_order = np.array(P.order_value)[w.size] * need_value * (P.spend_q - 1) / rng.gamma(P.spend_q, 1.0, n)
    # replenishment dealers: many small consumables orders (the only customers buying weekly)
    w.replenish = (w.ctype == 1) & (w.need == 0) & (w.size > 0) & (rng.random(n) < P.replenish_share)
    w.rate = np.where(w.replenish, w.rate * P.replenish_factor, w.rate)
    w.mean_order = np.where(w.replenish, w.mean_order * 1.2 / P.replenish_factor, w.mean_order)
    w.trend = np.clip(rng.normal(P.trend_mean, P.trend_sd, n), -0.6, 0.6)
    frailty = rng.gamma(P.frailty_shape, 1 / P.frailty_shape, n)
    hazard = P.churn_hazard * np.exp(-P.churn_health_effect * w.health) * frailty
    risk_start = np.maximum(w.acq + 60, start)
    w.churn = np.where(w.kind == 2, risk_start + np.ceil(rng.exponential(365.0 / hazard)).astype(int), 10**6)
    w.decline = np.minimum(rng.integers(P.decline_days[0], P.decline_days[1], n), np.maximum(w.churn - w.acq, 1))
    w.lead_day = np.where(w.kind == 0, as_of - rng.integers(20, 540, n),
                          np.where(w.kind == 1, as_of - rng.integers(30, 240, n), -1))

    # owners: large accounts mostly to 大客户部, the rest to the regional department's owners
    department = {reg: dept for dept, regs in _DEPARTMENT_REGIONS.items() for reg in regs}
    staff = {d: [k for k, (_, od) in enumerate(OWNERS) if od == d] for d in ("大客户部", *_DEPARTMENT_REGIONS)}
    key_account = (w.size == 0) & (rng.random(n) < 0.75)
    pick = rng.random(n)
    w.owner = np.empty(n, dtype=int)
    for i in range(n):
        team = staff["大客户部" if key_account[i] else department[_REGIONS[w.region[i]]]]
        w.owner[i] = team[int(pick[i] * len(team))]
    diligence = rng.uniform(0.85, 1.15, len(OWNERS))
    responsiveness = np.exp(rng.normal(0, 0.15, n))

    # product lines: one or two to start with, by industry preference
    for i in range(n):
        pref = np.array(_INDUSTRY_LINES[INDUSTRIES[w.industry[i]]], dtype=float)
        first = 3 if w.replenish[i] else rng.choice(5, p=pref / pref.sum())
        lines = [int(first)]
        if rng.random() < 0.45:
            pref[first] = 0
            lines.append(int(rng.choice(5, p=pref / pref.sum())))
        w.lines.append(lines)

    # upsells: rate step-up, often a new product line, preceded by a new-need inquiry
    for i in np.flatnonzero(w.kind == 2):
        lo, hi = max(w.acq[i] + 120, start), min(w.churn[i] - 90, as_of)
        if hi <= lo:
            continue
        k = rng.poisson(P.upsell_rate * math.exp(0.3 * w.health[i]) * (hi - lo) / 365)
        for day in np.sort(rng.integers(lo, hi, k)):
            pref = np.array(_INDUSTRY_LINES[INDUSTRIES[w.industry[i]]], dtype=float)
            have = set(w.lines[i]) | {ln for c, _, _, ln in w.upsells if c == i and ln >= 0}
            pref[list(have)] = 0
            new_line = int(rng.choice(5, p=pref / pref.sum())) if pref.sum() > 0 and rng.random() < 0.7 else -1
            w.upsells.append((int(i), int(day), float(rng.uniform(*P.upsell_step)), new_line))

    _simulate_orders(w, rng, start, as_of)
    _simulate_interactions(w, rng, start, as_of, diligence, responsiveness)
    _simulate_surveys(w, rng, start, as_of)
    return w


def _calendar(start: int, as_of: int) -> np.ndarray:
    """Relative order intensity per calendar day (mean about 1 over a year)."""
    days = np.arange(start, as_of + 1)
    d64 = days.astype("datetime64[D]")
    month = (d64.astype("datetime64[M]").astype(int) % 12)
    weekday = (days + 3) % 7  # 0 = Monday
    factor = _MONTH_SEASON[month] * np.where(weekday < 5, 1.0, np.where(weekday == 5, 0.15, 0.05))
    for cny in _CNY:
        c = _day(cny)
        factor = np.where((days >= c - 7) & (days <= c + 10), factor * 0.2, factor)
        factor = np.where(((days >= c - 14) & (days < c - 7)) | ((days > c + 10) & (days <= c + 17)), factor * 0.6, factor)
    for y in range(int(DATA_START[:4]), int(AS_OF[:4]) + 1):
        factor = np.where((days >= _day(f"{y}-10-01")) & (days <= _day(f"{y}-10-07")), factor * 0.15, factor)
        factor = np.where((days >= _day(f"{y}-05-01")) & (days <= _day(f"{y}-05-05")), factor * 0.3, factor)
    year = days < _day("2026-01-01")
    return factor / factor[year].mean()


def _simulate_orders(w: _World, rng: np.random.Generator, start: int, as_of: int) -> None:
    days = np.arange(start, as_of + 1)
    cal = _calendar(start, as_of)
    t0 = np.maximum(w.acq, start)
    alive = (days[None, :] >= w.acq[:, None] + 14) & (w.kind[:, None] == 2)
    trend = np.exp(w.trend[:, None] * (days[None, :] - t0[:, None]) / 365.0)
    level = w.activity(days[None, :], np.arange(w.n)[:, None]) if w.n else np.zeros((0, len(days)))
    step = np.ones((w.n, len(days)))
    for i, day, factor, _ in w.upsells:
        step[i, day - start:] *= factor
    lam = (w.rate[:, None] / 365.0) * cal[None, :] * trend * level * step * alive
    counts = rng.poisson(lam)
    cust, col = np.nonzero(counts)
    reps = counts[cust, col]
    cust, odays = np.repeat(cust, reps), np.repeat(days[col], reps)
    # first order shortly after signing, for customers signed inside the window
    new = np.flatnonzero((w.kind == 2) & (w.acq >= start) & (w.acq + 40 <= as_of) & (w.churn > w.acq + 40))
    first_day = w.acq[new] + rng.integers(2, 35, len(new))
    wk = (first_day + 3) % 7
    first_day = first_day + np.where(wk == 5, 2, np.where(wk == 6, 1, 0))
    cust, odays = np.concatenate([cust, new]), np.concatenate([odays, first_day])
    # projects: occasional large solution orders of solution / strategic customers
    project_cust, project_days = [], []
    for i in np.flatnonzero((w.kind == 2) & np.isin(w.need, (2, 3))):
        lo, hi = max(w.acq[i] + 60, start), min(w.churn[i] - 120, as_of)
        if hi > lo:
            k = rng.poisson(P.project_rate * (hi - lo) / 365)
            project_cust += [i] * k
            project_days += list(rng.integers(lo, hi, k))
    is_project = np.concatenate([np.zeros(len(cust), bool), np.ones(len(project_cust), bool)])
    cust = np.concatenate([cust, np.array(project_cust, dtype=int)])
    odays = np.concatenate([odays, np.array(project_days, dtype=int)])
    order = np.lexsort((cust, odays))
    cust, odays, is_project = cust[order], odays[order], is_project[order]

    # product line of each order: among the lines the customer has at that date
    line = np.empty(len(cust), dtype=int)
    ups_by_c: dict[int, list[tuple[int, int]]] = {}
    for i, day, _, ln in w.upsells:
        if ln >= 0:
            ups_by_c.setdefault(i, []).append((day, ln))
    u = rng.random(len(cust))
    for j in range(len(cust)):  # the first line 60 % of the time, the others share the rest
        avail = w.lines[cust[j]] + [ln for d, ln in ups_by_c.get(int(cust[j]), ()) if d <= odays[j]]
        if is_project[j]:
            line[j] = PRODUCT_LINES.index("解决方案")
        elif len(avail) == 1 or u[j] < 0.6:
            line[j] = avail[0]
        else:
            line[j] = avail[1 + min(int((u[j] - 0.6) / 0.4 * (len(avail) - 1)), len(avail) - 2)]
    spend_step = np.ones(len(cust))
    for i, day, factor, _ in w.upsells:
        spend_step[(cust == i) & (odays >= day)] *= math.sqrt(factor)
    value = w.mean_order[cust] * rng.gamma(P.spend_p, 1.0 / P.spend_p, len(cust)) * _LINE_VALUE[line] * spend_step
    value = np.where(is_project, np.minimum(w.mean_order[cust] * rng.uniform(5, 15, len(cust)), 3_000_000), value)
    unit = _LINE_UNIT[line]
    amount = np.maximum(np.round(value / unit) * unit, unit)
    amount = np.round(amount, 2)
    # channel: each customer has a main channel
    main_p = {0: (0.05, 0.02, 0.85, 0.03, 0.05), 1: (0.15, 0.05, 0.45, 0.25, 0.10), 2: (0.30, 0.15, 0.15, 0.25, 0.15)}
    main = np.array([rng.choice(5, p=main_p[s]) for s in w.size])
    channel = np.where(rng.random(len(cust)) < 0.85, main[cust], rng.integers(0, 5, len(cust)))
    # refunds / returns: a negative order some days later
    ref = np.flatnonzero(rng.random(len(cust)) < P.refund_share)
    rday = odays[ref] + rng.integers(7, 45, len(ref))
    keep = rday <= as_of
    ref, rday = ref[keep], rday[keep]
    share = np.where(rng.random(len(ref)) < 0.5, 1.0, rng.uniform(0.1, 0.5, len(ref)))
    ramount = -np.maximum(np.round(amount[ref] * share / _LINE_UNIT[line[ref]]) * _LINE_UNIT[line[ref]], _LINE_UNIT[line[ref]])
    is_refund = np.concatenate([np.zeros(len(cust), bool), np.ones(len(ref), bool)])
    cust = np.concatenate([cust, cust[ref]])
    odays = np.concatenate([odays, rday])
    amount = np.concatenate([amount, np.round(ramount, 2)])
    line = np.concatenate([line, line[ref]])
    channel = np.concatenate([channel, channel[ref]])
    order = np.lexsort((is_refund, cust, odays))
    w.orders = {"customer": cust[order], "day": odays[order], "amount": amount[order], "line": line[order],
                "channel": channel[order], "refund": is_refund[order]}


def _month_starts(start: int, as_of: int) -> np.ndarray:
    """First day (int days) of every calendar month from ``start`` to ``as_of``."""
    first = np.datetime64(start, "D").astype("datetime64[M]")
    last = np.datetime64(as_of, "D").astype("datetime64[M]")
    return np.arange(first, last + 1).astype("datetime64[D]").astype(np.int64)


def _simulate_interactions(w: _World, rng: np.random.Generator, start: int, as_of: int,
                           diligence: np.ndarray, responsiveness: np.ndarray) -> None:
    n = w.n
    mstart = _month_starts(start, as_of)
    mend = np.append(mstart[1:], as_of + 1)
    n_months = len(mstart)
    o = w.orders
    month_of_order = np.searchsorted(mstart, o["day"], side="right") - 1
    revenue = np.zeros((n, n_months))
    np.add.at(revenue, (o["customer"], month_of_order), o["amount"])
    # proxy for the 12 months before the data: the expected spend of customers already active
    expected_month = w.rate * w.mean_order / 12.0
    before = np.where((w.kind == 2) & (w.acq < start), expected_month * np.exp(-w.trend * 0.5), 0.0)
    ext = np.concatenate([np.repeat(before[:, None], 12, axis=1), revenue], axis=1)
    thr = P.class_thresholds
    rows_c, rows_d, rows_t = [], [], []

    def add(c: np.ndarray, d: np.ndarray, t: np.ndarray | int) -> None:
        rows_c.append(np.asarray(c, dtype=int))
        rows_d.append(np.asarray(d, dtype=int))
        rows_t.append(np.broadcast_to(np.asarray(t, dtype=int), np.shape(c)).copy())

    def day_in_month(m: np.ndarray, workdays_only: bool = True) -> np.ndarray:
        d = mstart[m] + np.floor(rng.random(len(m)) * (mend[m] - mstart[m])).astype(int)
        if workdays_only:
            wk = (d + 3) % 7
            d = np.where(wk >= 5, d - (wk - 4), d)  # weekend -> Friday
        return d

    type_p = np.array([[0.35, 0.35, 0.30], [0.25, 0.40, 0.35], [0.15, 0.45, 0.40], [0.05, 0.50, 0.45], [0.05, 0.55, 0.40]])
    cls = np.full(n, 4)
    for m in range(n_months):
        if m % 3 == 0:  # the owner re-tiers his accounts every quarter
            trailing = ext[:, m:m + 12].sum(axis=1)
            cls = np.select([trailing >= thr[0], trailing >= thr[1], trailing >= thr[2], trailing > 0], [0, 1, 2, 3], 4)
        mid = (mstart[m] + mend[m]) // 2
        act = w.activity(np.full(n, mid))
        alive = (w.kind == 2) & (w.acq <= mid)
        onboarding = alive & (mid - w.acq < 120)
        mu = np.array(P.class_contacts)[cls] * diligence[w.owner] * responsiveness
        mu = np.where(onboarding, np.maximum(mu, 1.2), mu)
        mu = np.where(act > 0, mu * (0.3 + 0.7 * act), 0.02)
        mu = np.where(alive, mu, 0.0)
        trials = np.maximum(np.ceil(mu), 1).astype(int)  # a cadence: nearly regular
        k = rng.binomial(trials, np.minimum(mu / trials, 1.0))
        c = np.repeat(np.arange(n), k)
        if len(c):
            t = np.minimum((rng.random(len(c))[:, None] > np.cumsum(type_p[cls[c]], axis=1)).sum(axis=1), 2)
            add(c, day_in_month(np.full(len(c), m)), t)
        # customer-initiated online inquiries
        k = rng.poisson(np.where(alive, P.online_inquiry_rate * act, 0.0))
        c = np.repeat(np.arange(n), k)
        add(c, day_in_month(np.full(len(c), m), workdays_only=False), 3)
        # exploratory new-need inquiries (lead nowhere)
        k = rng.poisson(np.where(alive, P.exploratory_need_rate / 12 * act, 0.0))
        c = np.repeat(np.arange(n), k)
        add(c, day_in_month(np.full(len(c), m)), 4)
        # complaints: more when unhealthy, many more in the decline phase
        live = alive & (mid < w.churn + 30)
        decl = np.where(act > 0, 1 - act, 1.0)
        crate = P.complaint_rate * np.exp(-0.5 * w.health) * (1 + P.complaint_decline * decl) * (w.rate / 8) ** 0.3
        k = rng.poisson(np.where(live, crate, 0.0))
        c = np.repeat(np.arange(n), k)
        add(c, day_in_month(np.full(len(c), m)), 5)
        # key-contact changes
        krate = P.contact_change_rate / 12 * (1 + P.contact_change_decline * decl)
        k = (rng.random(n) < np.where(live, krate, 0.0)).astype(int)
        c = np.repeat(np.arange(n), k)
        add(c, day_in_month(np.full(len(c), m)), 6)
    # order follow-ups (delivery confirmations, invoices)
    real = ~o["refund"]
    fu = np.flatnonzero(real & (rng.random(len(o["day"])) < P.followup_share))
    add(o["customer"][fu], o["day"][fu] + rng.integers(1, 6, len(fu)), np.where(rng.random(len(fu)) < 0.5, 1, 2))
    # new-need inquiries before upsells
    if w.upsells:
        uc = np.array([u[0] for u in w.upsells])
        ud = np.array([u[1] for u in w.upsells]) - rng.integers(20, 100, len(w.upsells))
        add(uc, ud, 4)
    # pre-sales contacts: before signing (customers signed in the window), prospects and intents
    pre = np.flatnonzero((w.kind == 2) & (w.acq >= start + 120))
    for i in pre:
        k = rng.integers(2, 7)
        d = w.acq[i] - rng.integers(3, 120, k)
        t = rng.choice([0, 1, 2, 4], size=k, p=[0.35, 0.3, 0.2, 0.15])
        t[0] = 4 if rng.random() < 0.35 else t[0]
        add(np.full(k, i), d, t)
    # prospects: some are bare leads (trade-fair lists) with no contact at all
    for i in np.flatnonzero(w.kind == 0):
        if rng.random() < 0.35:
            continue
        k = rng.integers(1, 5)
        d = np.sort(rng.integers(w.lead_day[i], as_of + 1, k))
        t = rng.choice([0, 1, 2, 3], size=k, p=[0.2, 0.4, 0.2, 0.2])
        if rng.random() < 0.5:
            t[-1] = 4
        add(np.full(k, i), d, t)
    for i in np.flatnonzero(w.kind == 1):
        k = rng.integers(3, 12)
        d = np.sort(rng.integers(w.lead_day[i], as_of + 1, k))
        t = rng.choice([0, 1, 2], size=k, p=[0.4, 0.4, 0.2])
        if rng.random() < 0.7:
            t[0] = 4
        add(np.full(k, i), d, t)
    c, d, t = np.concatenate(rows_c), np.concatenate(rows_d), np.concatenate(rows_t)
    keep = (d >= start) & (d <= as_of)
    c, d, t = c[keep], d[keep], t[keep]
    order = np.lexsort((t, c, d))
    c, d, t = c[order], d[order], t[order]
    resolved = np.where(t == 5, d + rng.integers(1, 11, len(d)), -1)
    resolved = np.where(resolved > as_of, -1, resolved)
    w.interactions = {"customer": c, "day": d, "type": t, "resolved": resolved}


def _simulate_surveys(w: _World, rng: np.random.Generator, start: int, as_of: int) -> None:
    n = w.n
    anchor = rng.integers(0, 365, n)
    it = w.interactions
    comp_days = {i: it["day"][(it["customer"] == i) & (it["type"] == 5)] for i in np.unique(it["customer"][it["type"] == 5])}
    rows_c, rows_d, rows_s, rows_n = [], [], [], []
    for year in range(int(DATA_START[:4]), int(AS_OF[:4]) + 1):
        d = _day(f"{year}-01-01") + anchor
        wk = (d + 3) % 7
        d = np.where(wk >= 5, d + (7 - wk), d)  # weekend -> Monday
        eligible = (w.kind == 2) & (w.acq + 90 <= d) & (d < w.churn) & (d <= as_of) & (rng.random(n) < P.survey_response)
        idx = np.flatnonzero(eligible)
        act = w.activity(d[idx], idx)
        none = np.empty(0, dtype=int)
        recent = np.array([np.sum((comp_days.get(i, none) <= d[i]) & (comp_days.get(i, none) > d[i] - 120)) for i in idx])
        sat = 80 + 7 * w.health[idx] + rng.normal(0, 6, len(idx)) - 28 * (1 - act) - 6 * np.minimum(recent, 3)
        sat = np.clip(np.round(sat), 10, 100).astype(int)
        nps = np.clip(np.round((sat - 30) / 7 + rng.normal(0, 1.0, len(idx))), 0, 10).astype(int)
        rows_c.append(idx)
        rows_d.append(d[idx])
        rows_s.append(sat)
        rows_n.append(nps)
    c, d = np.concatenate(rows_c), np.concatenate(rows_d)
    s, p = np.concatenate(rows_s), np.concatenate(rows_n)
    order = np.lexsort((c, d))
    w.surveys = {"customer": c[order], "day": d[order], "satisfaction": s[order], "nps": p[order]}


# --------------------------------------------------------------------------------------------
# Turning the simulation into export-style tables
# --------------------------------------------------------------------------------------------
def _org_code(body8: str) -> str:
    """Organisation code (GB 11714): 8 characters plus a check character."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [int(ch) if ch.isdigit() else ord(ch) - 55 for ch in body8]
    check = 11 - sum(v * wt for v, wt in zip(values, weights)) % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


class _Labeller:
    """Writes vocabulary keys as the standard zh label, or now and then as a synonym."""

    def __init__(self, rng: np.random.Generator):
        self.vocab = default_section("vocabularies")
        self.rng = rng

    def __call__(self, vocab: str, keys: Sequence[str]) -> list[str]:
        use_syn = self.rng.random(len(keys)) < SYNONYM_SHARE
        pick = self.rng.random(len(keys))
        out = []
        for key, syn, p in zip(keys, use_syn, pick):
            options = SYNONYMS[vocab].get(key, ())
            out.append(options[int(p * len(options))] if syn and options else self.vocab[vocab][key]["zh"])
        return out


def _person(rng: np.random.Generator) -> tuple[str, str]:
    s = _SURNAMES[min(int(rng.pareto(1.2) * 3), len(_SURNAMES) - 1)]
    k = 1 if rng.random() < 0.35 else 2
    g = [_GIVEN[j] for j in rng.choice(len(_GIVEN), size=k, replace=False)]
    return s[0] + "".join(x[0] for x in g), f"{''.join(x[1] for x in g)}.{s[1]}"


def sample_tables(seed: int = DEFAULT_SEED, n_customers: int = DEFAULT_CUSTOMERS) -> dict[str, list[list[str]]]:
    """Simulate the sample and return each file's rows as strings, header first.

    The header is the Chinese name of each column (``segkit.schema``); this is exactly what
    :func:`generate_sample` writes, dirty records included.

    Parameters
    ----------
    seed : int, default 20260930
        Seed of the random generators.
    n_customers : int, default 2000
        Number of distinct customers, 40 to 9999 (the customer file has two more rows:
        the duplicated ids).

    Returns
    -------
    dict
        ``{"customers.csv": rows, "orders.csv": rows, "interactions.csv": rows, "surveys.csv": rows,
        "contracts.csv": rows}``.

    Examples
    --------
    >>> tables = sample_tables(seed=1, n_customers=50)
    >>> tables["orders.csv"][0]
    ['订单编号', '客户编号', '交易日期', '交易金额', '产品线', '渠道']
    """
    if not 40 <= n_customers <= 9999:
        raise ValueError(f"n_customers must be between 40 (room for the dirty records) and 9999 "
                         f"(4-digit phone and id numbers), got {n_customers}")
    w = _simulate(seed, n_customers)
    rng = np.random.default_rng([seed, 1])  # labels and dirt: a second, independent stream
    label = _Labeller(rng)
    as_of = _day(AS_OF)
    n = w.n
    ids = [f"C{i + 1:04d}" for i in range(n)]

    # ---- customers ----------------------------------------------------------------------------
    it = w.interactions
    changes = {}
    for c in it["customer"][it["type"] == 6]:
        changes[int(c)] = changes.get(int(c), 0) + 1
    names, codes, contacts, titles, phones, emails = [], [], [], [], [], []
    seen_names, seen_codes = set(), set()
    phone_numbers = rng.permutation(10_000)[:n]
    for i in range(n):
        city, region_code = _CITIES[_REGIONS[w.region[i]]][w.city[i]]
        while True:
            b = rng.choice(len(_BRAND), size=2, replace=False)
            words = _INDUSTRY_WORDS[INDUSTRIES[w.industry[i]]]
            word = words[int(rng.integers(len(words)))]
            suffix = _COMPANY_SUFFIX[int(rng.integers(len(_COMPANY_SUFFIX)))]
            name = city + _BRAND[b[0]][0] + _BRAND[b[1]][0] + word + suffix
            if name not in seen_names:
                seen_names.add(name)
                break
        brand_py = _BRAND[b[0]][1] + _BRAND[b[1]][1]
        while True:
            if rng.random() < 0.6:
                body = "MA" + "".join(CREDIT_CODE_CHARS[j] for j in rng.integers(0, len(CREDIT_CODE_CHARS), 6))
            else:
                body = "".join(str(j) for j in rng.integers(0, 10, 8))
            first17 = "91" + region_code + _org_code(body)
            code = first17 + credit_code_check_char(first17)
            if code not in seen_codes:
                seen_codes.add(code)
                break
        names.append(name)
        codes.append(code)
        for _ in range(changes.get(i, 0) + 1):  # the current contact is the last one
            person, py = _person(rng)
        contacts.append(person)
        titles.append(_TITLES[int(w.size[i])][int(rng.integers(len(_TITLES[int(w.size[i])])))])
        phones.append(f"{PHONE_PREFIX}{phone_numbers[i]:04d}")
        emails.append(f"{py}@{brand_py}.{EMAIL_DOMAIN}")

    employees = np.where(w.size == 0, np.maximum(np.exp(rng.normal(math.log(2500), 0.8, n)), 1001),
                         np.where(w.size == 1, np.exp(rng.uniform(math.log(100), math.log(1000), n)),
                                  np.exp(rng.uniform(math.log(8), math.log(99.5), n)))).astype(int)
    revenue = np.where(w.size == 0, np.maximum(np.exp(rng.normal(math.log(6e8), 1.0, n)), 1.01e8),
                       np.where(w.size == 1, np.exp(rng.uniform(math.log(1e7), math.log(1e8), n)),
                                np.exp(rng.uniform(math.log(1e6), math.log(1e7), n))))
    asset_light = (w.size > 0) & (rng.random(n) < 0.04)  # trading firms: few staff, large turnover
    revenue = np.where(asset_light, revenue * 10, revenue)
    revenue = np.round(revenue / 10_000) * 10_000

    churned = (w.kind == 2) & (w.churn <= as_of - 90)
    act_now = w.activity(np.full(n, as_of))
    stage_key = np.where(w.kind == 0, "prospect", np.where(w.kind == 1, "intent", np.where(churned, "churned", "active")))
    # record_updated: most within the tier cadence, some overdue
    upd = as_of - np.floor(rng.exponential(45, n)).astype(int)
    overdue = rng.random(n) < P.overdue_share
    upd = np.where(overdue, as_of - rng.integers(200, 700, n), upd)
    upd = np.where(churned & ~overdue, np.minimum(w.churn + rng.integers(30, 120, n), as_of), upd)
    floor_day = np.where(w.kind == 2, w.acq, np.where(w.lead_day > 0, w.lead_day, as_of - 30))
    upd = np.clip(upd, floor_day, as_of)
    # a churned customer whose record was not refreshed since before the dropout still says active
    stage_key = np.where(churned & (upd < w.churn), "active", stage_key)
    p_renew = 1 / (1 + np.exp(-(2.0 + 1.0 * w.health - 4.5 * (1 - act_now))))
    renew = np.where(rng.random(n) < p_renew, "是", "否")
    renew = np.where(w.kind < 2, "", renew)

    cust_rows = []
    ind_labels = label("industry", [INDUSTRIES[k] for k in w.industry])
    type_labels = label("customer_type", [("end_customer", "dealer", "partner")[k] for k in w.ctype])
    need_keys = ("product_purchase", "technical_service", "solution_customisation", "strategic")
    need_labels = label("need_type", [need_keys[k] for k in w.need])
    stage_labels = label("stage", list(stage_key))
    acq_text = _dates(np.maximum(w.acq, 0))
    upd_text = _dates(upd)
    for i in range(n):
        cust_rows.append([
            ids[i], names[i], codes[i], _REGIONS[w.region[i]], ind_labels[i], str(employees[i]), f"{revenue[i]:.2f}",
            type_labels[i], need_labels[i], stage_labels[i], contacts[i], titles[i], phones[i], emails[i],
            acq_text[i] if w.kind[i] == 2 else "", OWNERS[w.owner[i]][0], OWNERS[w.owner[i]][1], renew[i], upd_text[i],
        ])

    # ---- orders ---------------------------------------------------------------------------------
    o = w.orders
    years = _dates(o["day"]).astype("U4")
    seq: dict[tuple[str, str], int] = {}
    order_rows = []
    ch_labels = label("channel", [_CHANNELS[k] for k in o["channel"]])
    day_text = _dates(o["day"])
    for j in range(len(o["day"])):
        prefix = "RT" if o["refund"][j] else "SO"
        key = (prefix, years[j])
        seq[key] = seq.get(key, 0) + 1
        order_rows.append([f"{prefix}{years[j]}{seq[key]:05d}", ids[o["customer"][j]], day_text[j],
                           f"{o['amount'][j]:.2f}", PRODUCT_LINES[o["line"][j]], ch_labels[j]])

    # ---- interactions ---------------------------------------------------------------------------
    t_keys = [_ITYPES[k] for k in it["type"]]
    t_labels = label("interaction_type", t_keys)
    ch_keys = [_ITYPE_CHANNEL[k][int(p * len(_ITYPE_CHANNEL[k]))] for k, p in zip(t_keys, rng.random(len(t_keys)))]
    ich_labels = label("channel", ch_keys)
    note_pick = rng.random(len(t_keys))
    has_note = (rng.random(len(t_keys)) < 0.4) | (it["type"] >= 4)
    day_text = _dates(it["day"])
    res_text = _dates(np.maximum(it["resolved"], 0))
    inter_rows = []
    for j in range(len(t_keys)):
        notes = _NOTES[t_keys[j]]
        inter_rows.append([f"HD{j + 1:06d}", ids[it["customer"][j]], day_text[j], t_labels[j], ich_labels[j],
                           res_text[j] if it["resolved"][j] >= 0 else "",
                           notes[int(note_pick[j] * len(notes))] if has_note[j] else ""])

    # ---- surveys --------------------------------------------------------------------------------
    s = w.surveys
    day_text = _dates(s["day"])
    survey_rows = [[ids[c], day, str(sat), str(nps)]
                   for c, day, sat, nps in zip(s["customer"], day_text, s["satisfaction"], s["nps"])]

    tables = {
        "customers.csv": cust_rows, "orders.csv": order_rows,
        "interactions.csv": inter_rows, "surveys.csv": survey_rows,
    }
    _add_dirt(tables, w, rng, ids)
    tables["contracts.csv"] = _contracts(w, seed, ids)
    return {name: [[c.zh for c in TABLES[_FILE_TABLE[name]].columns]] + rows for name, rows in tables.items()}


def _contracts(w: _World, seed: int, ids: list[str]) -> list[list[str]]:
    """Annual framework contracts, renewed while the customer is there, with their dirty rows.

    From its own stream (``[seed, 2]``): the other files do not depend on the contracts. A
    contract runs a calendar year from its start (end = the day before the anniversary); it is
    renewed when the customer has not dropped out by its end, on the next day or, for
    ``late_renewal_share`` of the renewals, ``late_renewal_days`` later. Contracts starting
    after the as-of date are not in the export. The value is about the customer's expected
    yearly orders, rounded to 1,000 yuan.
    """
    rng = np.random.default_rng([seed, 2])
    as_of = _day(AS_OF)
    n = w.n
    signed = np.flatnonzero((w.kind == 2) & (rng.random(n) < np.array(P.contract_share)[w.size]))
    cust, starts, ends, values = [], [], [], []
    for i in signed:
        start = int(w.acq[i])
        yearly = max(round(w.rate[i] * w.mean_order[i] * rng.uniform(0.6, 0.9), -3), 10_000.0)
        while start <= as_of:
            first = np.datetime64(start, "D")
            end = int((first.astype("datetime64[Y]") + 1).astype("datetime64[D]").astype(np.int64)
                      + (first - first.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)) - 1
            cust.append(int(i))
            starts.append(start)
            ends.append(end)
            values.append(yearly)
            if w.churn[i] <= end:  # dropped out during this contract: it is not renewed
                break
            late = rng.random() < P.late_renewal_share
            start = end + 1 + (int(rng.integers(*P.late_renewal_days)) if late else 0)
    order = np.lexsort((np.array(cust), np.array(starts)))
    starts_text, ends_text = _dates(np.array(starts)[order]), _dates(np.array(ends)[order])
    seq: dict[str, int] = {}
    rows = []
    for k, j in enumerate(order):
        year = starts_text[k][:4]
        seq[year] = seq.get(year, 0) + 1
        rows.append([f"HT{year}{seq[year]:04d}", ids[cust[j]], starts_text[k], ends_text[k], f"{values[j]:.2f}"])
    # dirty records: start and end swapped, contracts of customers that do not exist
    new = []
    for j in rng.choice(len(rows), size=2, replace=False):
        row = list(rows[int(j)])
        row[0], row[2], row[3] = row[0] + "B", row[3], row[2]
        new.append((int(j), row))
    for j, x in zip(rng.choice(len(rows), size=2, replace=False), rng.integers(n + 1000, n + 9000, 2)):
        row = list(rows[int(j)])
        row[0], row[1] = row[0] + "B", f"C{int(x):04d}"
        new.append((int(j), row))
    _insert_after(rows, new)
    return rows


def _insert_after(rows: list[list[str]], new: list[tuple[int, list[str]]]) -> None:
    """Insert each ``(index, row)`` right after the row it was copied from."""
    for index, row in sorted(new, key=lambda x: x[0], reverse=True):
        rows.insert(index + 1, row)


def _add_dirt(tables: dict[str, list[list[str]]], w: _World, rng: np.random.Generator, ids: list[str]) -> None:
    """Add the dirty records of :data:`DIRTY_RECORDS` (counts fixed, rows chosen by the seed).

    Dirty order, interaction and survey rows are *extra* rows (copies of a real row with one
    value spoiled, placed right after it), except the survey scores and the 微信 interaction
    types, which spoil real rows. The customer-table problems sit on bare leads (no orders,
    interactions or surveys), so that rejecting a customer row does not cascade into the
    other files.
    """
    n = w.n
    cust = tables["customers.csv"]
    it = w.interactions
    touched = np.zeros(n, bool)
    touched[w.orders["customer"]] = True
    touched[it["customer"]] = True
    touched[w.surveys["customer"]] = True
    bare = np.flatnonzero(~touched)
    if len(bare) < 6:  # tiny samples: the least active customers instead
        activity = np.bincount(w.orders["customer"], minlength=n) + np.bincount(it["customer"], minlength=n)
        bare = np.argsort(activity, kind="stable")[:6]
    chosen = [int(x) for x in rng.choice(bare, size=6, replace=False)]
    for i in chosen[2:5]:  # a wrong check character
        code = cust[i][2]
        wrong = [ch for ch in CREDIT_CODE_CHARS if ch != code[-1]]
        cust[i][2] = code[:-1] + wrong[int(rng.integers(len(wrong)))]
    cust[chosen[5]][18] = "2025-02-30"
    for i in rng.choice(n, size=2, replace=False):  # industry not in the vocabulary
        cust[int(i)][4] = "新材料"
    duplicates = []
    for i in chosen[:2]:  # entered a second time, with another phone number
        row = list(cust[i])
        row[12] = f"{PHONE_PREFIX}{int(rng.integers(0, 10_000)):04d}"
        duplicates.append((i + int(rng.integers(1, 40)), row))
    _insert_after(cust, duplicates)

    def spoil(rows: list[list[str]], column: int, values: Sequence[str]) -> list[tuple[int, list[str]]]:
        out = []
        for value in values:
            j = int(rng.integers(len(rows)))
            row = list(rows[j])
            row[0], row[column] = row[0] + "B", value
            out.append((j, row))
        return out

    def unknown_ids(k: int) -> list[str]:
        return [f"C{int(x):04d}" for x in rng.integers(n + 1000, n + 9000, k)]

    rows = tables["orders.csv"]
    new = spoil(rows, 2, ("2024/13/45", "N/A", "2025-02-30", "2023-11-31") * 2)
    new += spoil(rows, 3, ("待确认", "待确认", "#VALUE!", "待确认", "#VALUE!", "待确认"))
    new += spoil(rows, 1, unknown_ids(6))
    future = []
    for day in ("2026-10-08", "2026-10-15", "2026-11-02"):  # booked ahead of delivery
        row = list(rows[len(rows) - 1 - int(rng.integers(0, 50))])
        row[0], row[2] = f"SO2026{90000 + int(rng.integers(0, 9999)):05d}", day
        future.append(row)
    _insert_after(rows, new)
    rows.extend(future)

    rows = tables["interactions.csv"]
    for j in rng.choice(len(rows), size=3, replace=False):
        rows[int(j)][3] = "微信"
    new = spoil(rows, 2, ("2024/13/45", "N/A", "2024/13/45", "N/A", "N/A"))
    new += spoil(rows, 1, unknown_ids(4))
    new += spoil(rows, 1, ("", ""))
    _insert_after(rows, new)

    rows = tables["surveys.csv"]
    picks = [int(j) for j in rng.choice(len(rows), size=8, replace=False)]
    for j, value in zip(picks[:4], ("120", "105", "999", "-5")):
        rows[j][2] = value
    for j, value in zip(picks[4:6], ("11", "15")):
        rows[j][3] = value
    for j in picks[6:]:
        rows[j][1] = "2025/02/30"


# --------------------------------------------------------------------------------------------
# Writing the folder
# --------------------------------------------------------------------------------------------
def _csv_bytes(rows: list[list[str]]) -> bytes:
    """CSV as Chinese Excel writes it: UTF-8 with BOM, minimal quoting (LF line ends, see README)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _dataset_yaml(seed: int, n_customers: int) -> str:
    return (
        "# Synthetic sample data written by `segkit sample`; no real company or person.\n"
        "# Columns, model and intentional dirty records: README.md in this folder.\n"
        "name: 示例公司客户数据 / Sample B2B CRM data\n"
        f"as_of: {AS_OF}\n"
        "currency: CNY\n"
        f"seed: {seed}\n"
        f"n_customers: {n_customers}\n"
        f"generator: segkit {__version__} sample\n"
    )


def generate_sample(out_dir: str | Path = "data/sample", seed: int = DEFAULT_SEED,
                    n_customers: int = DEFAULT_CUSTOMERS) -> dict[str, Path]:
    """Write the synthetic sample data set (five CSV files, dataset.yaml, README.md).

    Parameters
    ----------
    out_dir : str or Path, default "data/sample"
        Folder to write into (created if missing; the six files are overwritten).
    seed : int, default 20260930
        Seed of the random generator. The same seed and ``n_customers`` always give the same
        bytes.
    n_customers : int, default 2000
        Number of distinct customers, 40 to 9999.

    Returns
    -------
    dict of str to Path
        ``customers``, ``transactions``, ``interactions``, ``surveys``, ``contracts``,
        ``dataset`` and ``readme``, each the path of the file written.

    Examples
    --------
    >>> import tempfile
    >>> out = generate_sample(tempfile.mkdtemp(), seed=7, n_customers=60)
    >>> sorted(out)
    ['contracts', 'customers', 'dataset', 'interactions', 'readme', 'surveys', 'transactions']
    >>> out["transactions"].read_text(encoding="utf-8-sig").splitlines()[0]
    '订单编号,客户编号,交易日期,交易金额,产品线,渠道'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = sample_tables(seed, n_customers)
    paths: dict[str, Path] = {}
    for name, rows in tables.items():
        path = out / name
        path.write_bytes(_csv_bytes(rows))
        paths[_FILE_TABLE[name]] = path
    paths["dataset"] = out / "dataset.yaml"
    paths["dataset"].write_bytes(_dataset_yaml(seed, n_customers).encode("utf-8"))
    paths["readme"] = out / "README.md"
    paths["readme"].write_bytes(_readme(tables, seed, n_customers).encode("utf-8"))
    return paths


# --------------------------------------------------------------------------------------------
# README.md of the sample folder (generated, so that it always describes the files next to it)
# --------------------------------------------------------------------------------------------
_KIND_TYPE = {"id": "text (id)", "str": "text", "date": "date YYYY-MM-DD", "money": "amount, CNY, 2 decimals",
              "float": "number", "int": "integer", "bool": "是 / 否", "vocab": "vocabulary label",
              "credit_code": "text, 18 characters"}

_COLUMN_NOTES = {
    ("customers", "customer_id"): "`C0001` ... ; unique except the two duplicated ids (dirty records)",
    ("customers", "name"): "synthetic: city + two-character brand + industry word + company form, e.g. 上海瑞丰精密机械有限公司",
    ("customers", "credit_code"): "valid per GB 32100-2015: `9` (registered by market regulation) `1` (enterprise) + 6-digit "
                                  "administrative-division code of the city + 9-character organisation code (GB 11714 check "
                                  "character) + check character; three rows carry a wrong check character (dirty records)",
    ("customers", "region"): "one of " + " / ".join(_REGIONS),
    ("customers", "industry"): "industry vocabulary (制造业, IT服务业, 零售业, ...); about 3 % written as a synonym (生产业, 加工业, 互联网, ...); two rows say 新材料, which is not in the vocabulary",
    ("customers", "employees"): "consistent with the company size of business rule 4.2 (large > 1,000; medium 100-1,000; small < 100)",
    ("customers", "annual_revenue"): "the customer company's own turnover, rounded to 万元 (large > 100 M, medium 10-100 M, small < 10 M; about 4 % of small and medium firms are trading firms with few staff and a turnover one class higher)",
    ("customers", "customer_type"): "终端客户 / 经销商 / 合作伙伴 (some synonyms)",
    ("customers", "need_type"): "产品采购型 / 技术服务型 / 解决方案定制型 / 长期战略合作型 (some synonyms); drives order rate and order value",
    ("customers", "stage"): "潜在客户 (prospect, no deal) / 意向客户 (in negotiation) / 合作中 / 流失 (dropped out more than 3 months before the as-of date); a churned customer whose record was not refreshed since the dropout still says 合作中",
    ("customers", "contact_name"): "synthetic Chinese name; the current contact (after any key-contact change)",
    ("customers", "contact_title"): "总经理, 采购经理, 技术总监, ...",
    ("customers", "phone"): f"fake: `{PHONE_PREFIX}xxxx`. Mainland mobile numbers start with 13-19, so no real subscriber has these numbers",
    ("customers", "email"): f"fake: `<given>.<surname>@<brand>.{EMAIL_DOMAIN}` (example.com is reserved for documentation, RFC 2606)",
    ("customers", "first_cooperation_date"): "2019-01-01 ... 2026-09-20; empty for prospects and customers in negotiation",
    ("customers", "owner"): f"{len(OWNERS)} synthetic sales owners: " + ", ".join(f"{o} ({d})" for o, d in OWNERS),
    ("customers", "department"): "大客户部 (most large accounts), 华东销售部 (华东, 华中), 华北销售部 (华北, 东北, 西北), 华南销售部 (华南, 西南); an owner belongs to one department",
    ("customers", "renewal_intent"): "是 / 否 at the as-of date (lower for unhealthy customers and in the decline phase); empty for prospects and customers in negotiation",
    ("customers", "record_updated"): f"last review of the record; about {P.overdue_share:.0%} are 200-700 days old (overdue for their tier's refresh cadence); one row holds 2025-02-30 (dirty record)",
    ("transactions", "order_id"): "`SO<year><5-digit number>` for orders, `RT<year><number>` for returns; the dirty copies end in `B`",
    ("transactions", "customer_id"): "customer id (six rows refer to ids that do not exist: dirty records)",
    ("transactions", "order_date"): f"{DATA_START} ... {AS_OF}",
    ("transactions", "amount"): "yuan, two decimals; negative = return / refund of an earlier order (legitimate, keep them)",
    ("transactions", "product_line"): " / ".join(PRODUCT_LINES) + " (free text, not a vocabulary)",
    ("transactions", "channel"): "channel vocabulary: 直销 / 经销商 / 线上 / 移动端 / 电话; some synonyms (APP, 线下, 代理商, ...)",
    ("interactions", "interaction_id"): "`HD000001` ...; the dirty copies end in `B`",
    ("interactions", "customer_id"): "customer id (four unknown ids and two empty ones: dirty records)",
    ("interactions", "date"): f"{DATA_START} ... {AS_OF}",
    ("interactions", "type"): "拜访 / 电话 / 邮件 / 在线咨询 / 新需求咨询 / 投诉 / 关键联系人变更; some synonyms (上门拜访, 电话沟通, 客诉, ...); three rows say 微信, which is not in the vocabulary",
    ("interactions", "channel"): "channel vocabulary: visits 直销, calls 电话, e-mails 线上 (the vocabulary has no e-mail channel), online inquiries 线上 / 移动端",
    ("interactions", "resolved_date"): "complaints only: 1-10 days after the complaint; empty when not yet resolved at the as-of date",
    ("interactions", "note"): "short free text: always for new-need inquiries, complaints (the reason) and key-contact changes, for about 40 % of the other contacts",
    ("surveys", "customer_id"): "customer id",
    ("surveys", "date"): "about one survey per active customer and year (on a customer-specific day), from 90 days after signing",
    ("surveys", "satisfaction"): "integer 0-100 (four out-of-range values: dirty records)",
    ("surveys", "nps"): "likelihood to recommend, integer 0-10 (two out-of-range values: dirty records)",
    ("contracts", "contract_id"): "`HT<start year><4-digit number>`; the dirty copies end in `B`",
    ("contracts", "customer_id"): "customer id (two rows refer to ids that do not exist: dirty records)",
    ("contracts", "contract_start"): "first cooperation date, then each renewal: the day after the previous contract "
                                     "ended or, for some, a few weeks later; not after the as-of date",
    ("contracts", "contract_end"): "the day before the contract's first anniversary; may lie after the as-of date "
                                   "(two rows have start and end swapped: dirty records)",
    ("contracts", "amount"): "yearly contract value, about the customer's expected orders in a year, rounded to 1,000 yuan",
}


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _readme(tables: dict[str, list[list[str]]], seed: int, n_customers: int) -> str:
    counts = {name: len(rows) - 1 for name, rows in tables.items()}
    refunds = sum(1 for r in tables["orders.csv"][1:] if r[0].startswith("RT"))
    file_rows = [
        ("customers.csv", "customers 客户信息", counts["customers.csv"], "one row per customer (company)"),
        ("orders.csv", "transactions 交易记录", counts["orders.csv"], f"orders and returns, {DATA_START} to {AS_OF}"),
        ("interactions.csv", "interactions 互动记录", counts["interactions.csv"], "visits, calls, e-mails, inquiries, complaints, key-contact changes"),
        ("surveys.csv", "surveys 满意度调查", counts["surveys.csv"], "satisfaction (0-100) and NPS (0-10)"),
        ("contracts.csv", "contracts 合同记录", counts["contracts.csv"], "annual framework contracts and their renewals (续约)"),
        ("dataset.yaml", "", "", "name, as-of date, currency, seed, generator"),
    ]
    parts = [
        "# 示例公司客户数据 / Sample B2B CRM data",
        "",
        "Synthetic CRM export of a B2B supplier (industrial equipment, software, services) with "
        f"{n_customers:,} business customers, as of **{AS_OF}**. Every company, person, credit code, phone "
        "number and e-mail address is made up; phone numbers and e-mail domains are chosen so that "
        "they cannot reach anyone. The data come from a behavioural model (below) so that segkit's "
        "tiers, migrations between quarters, RFM, churn and CLV models all have something to find.",
        "",
        "This file is written by the generator together with the data: do not edit it by hand.",
        "",
        "## Files",
        "",
        _md_table(("file", "segkit table", "rows", "content"), file_rows),
        "",
        "Format, as a Chinese Excel export: UTF-8 with BOM, comma-separated, LF line ends, a header "
        "row of the Chinese column names of `segkit.schema`, dates `YYYY-MM-DD`, amounts in yuan with "
        "two decimals, vocabulary columns written with the standard Chinese label (about "
        f"{SYNONYM_SHARE:.0%} with a synonym, so normalisation is exercised), empty cell = missing.",
        "",
        "## Regenerate",
        "",
        "```",
        f"segkit sample --out data/sample --seed {seed}",
        "```",
        "",
        "or `python -c \"from segkit.sample import generate_sample; generate_sample('data/sample')\"`. "
        "The same seed gives the same bytes; `tests/test_sample.py` checks that the committed files are "
        "exactly what the generator writes.",
        "",
        "## Columns",
        "",
    ]
    for fname, tname in _FILE_TABLE.items():
        table = TABLES[tname]
        parts += [f"### {fname} ({table.zh})", ""]
        rows = []
        for col in table.columns:
            kind = _KIND_TYPE[col.kind] + (" (integers here)" if (tname, col.name) == ("surveys", "satisfaction") else "")
            note = _COLUMN_NOTES.get((tname, col.name), "")
            meaning = col.description + (f". {note[0].upper()}{note[1:]}" if note else "")
            rows.append((f"`{col.name}`", col.zh, kind + (", required" if col.required else ""), meaning))
        parts += [_md_table(("column", "列名", "type", "meaning"), rows), ""]
    p = P
    parts += [
        "## How the data were generated",
        "",
        f"`segkit.sample`, seed {seed} (numpy `Generator` streams seeded from it). Parameters "
        "live in `segkit.sample._Parameters`; the main ones:",
        "",
        f"- **Customers.** {p.share_prospect:.1%} prospects (no deal), {p.share_intent:.1%} in negotiation, the rest "
        f"signed between 2019 and {AS_OF[:4]} (relative weights per year {', '.join(f'{y}: {w_}' for y, w_ in zip(p.acquisition_years, p.acquisition_weights))}). "
        "The export holds customers with a relationship on or after the start of the order history: "
        "customers acquired before it are those still active then. Company size large / medium / small "
        f"{p.size_shares[0]:.0%} / {p.size_shares[1]:.0%} / {p.size_shares[2]:.0%}; industry, region and city, customer "
        "type and need type drawn with fixed shares (need type depending on size). Large accounts go "
        "mostly to 大客户部, the others to the department of their region.",
        f"- **Orders** (Poisson process per customer and day). Purchase rate per year ~ Gamma(shape {p.rate_shape}) "
        f"with mean {p.rate_mean[0]:g} / {p.rate_mean[1]:g} / {p.rate_mean[2]:g} for large / medium / small, times a need-type "
        f"factor. Order values follow a gamma-gamma model: a customer's mean order value is "
        f"{p.order_value[0]:,.0f} / {p.order_value[1]:,.0f} / {p.order_value[2]:,.0f} CNY x need factor x (q-1)/Gamma(q={p.spend_q:g}), "
        f"each order Gamma(p={p.spend_p:g}) around it, times a product-line factor, rounded to the line's price unit. "
        "Seasonality: month factors with a December peak and Q4 high, 20 % of normal from a week before "
        "to ten days after Chinese New Year, Golden Week and May Day dips, few weekend orders. Trend: "
        f"log growth per year ~ Normal({p.trend_mean}, {p.trend_sd}) per customer. Upsells at {p.upsell_rate} per year "
        f"raise the rate by x{p.upsell_step[0]}-{p.upsell_step[1]} and often add a product line; solution and strategic "
        f"customers place occasional project orders ({p.project_rate} per year, 5-15x their mean order). New customers "
        f"order within 35 days of signing. About {p.refund_share:.1%} of orders are followed by a return (a negative "
        "amount) 7-45 days later.",
        f"- **Dropout.** Each signed customer drops out after an exponential time with hazard {p.churn_hazard} per year x "
        f"exp(-{p.churn_health_effect} x health) x Gamma({p.frailty_shape:g}) frailty (health ~ N(0, 1) per customer), "
        f"i.e. about 10-13 % of active customers a year. In the {p.decline_days[0]}-{p.decline_days[1]} days before the "
        f"dropout the purchase rate falls linearly to {p.decline_floor:.0%} and the customer answers fewer contacts; after "
        "it there are no orders.",
        "- **Interactions.** Every quarter the owner classes each account by its trailing 12-month revenue "
        f"(>= {p.class_thresholds[0]:,.0f} / >= {p.class_thresholds[1]:,.0f} / >= {p.class_thresholds[2]:,.0f} / > 0 / none) "
        f"and plans {' / '.join(f'{x:g}' for x in p.class_contacts)} contacts a month (visits, calls, e-mails; "
        "more visits for big accounts), scaled by the owner's diligence, the customer's responsiveness and the "
        "decline phase. On top: order follow-ups "
        f"({p.followup_share:.0%} of orders), online inquiries, new-need inquiries 20-100 days before each "
        f"upsell plus exploratory ones ({p.exploratory_need_rate} per year), pre-sales contacts before signing, "
        f"complaints ({p.complaint_rate} per month for a healthy customer, up to x{1 + p.complaint_decline:g} at the end "
        f"of the decline phase, resolved 1-10 days later) and key-contact changes ({p.contact_change_rate:.1%} per year, "
        f"up to x{1 + p.contact_change_decline:g} before dropout). Prospects and customers in negotiation have a few "
        "contacts, often a new-need inquiry; some prospects are bare leads with none.",
        f"- **Surveys.** Once a year on a customer-specific day for signed, not yet dropped-out customers "
        f"({p.survey_response:.0%} answer): satisfaction = 80 + 7 x health + noise - 28 x decline - 6 per "
        "complaint in the last 120 days; NPS follows satisfaction with noise.",
        f"- **Contracts.** {p.contract_share[0]:.0%} / {p.contract_share[1]:.0%} / {p.contract_share[2]:.0%} of the "
        "large / medium / small signed customers have an annual framework contract from their first cooperation "
        "date. It is renewed when the customer has not dropped out by its end (the contract she drops out in is "
        f"not renewed), the next day or, for {p.late_renewal_share:.0%} of the renewals, "
        f"{p.late_renewal_days[0]}-{p.late_renewal_days[1]} days later. As with the orders, customers who left "
        "before the order history starts are not in the export, so the renewals before 2023 are those of "
        "customers still there in 2023.",
        "- **Customer record.** Stage, renewal intention and the current contact follow the simulated "
        f"behaviour at the as-of date; about {p.overdue_share:.0%} of records have not been reviewed for 200-700 days.",
        "",
        "Calibration: at 2026-09-30 and at 2026-06-30 the handbook's value x activity tiers (business rules, "
        "section 2) are all well populated (over seeds 20260930 and 1-5: core 11-13 %, potential 25-29 %, ordinary "
        "22-24 %, low value 32-35 %, matching no rule (to review) 4-6 %), about a quarter of the customers change "
        "tier from one quarter to the next, about 11-13 % of active customers stop buying within a year, and "
        "the customers who drop out show it beforehand (falling orders and contacts, complaints, lower "
        "satisfaction, key-contact changes).",
        "",
        "## Dirty records (intentional)",
        "",
        "Real exports contain mistakes, and `segkit validate` should find these and only these. The "
        "counts are fixed; which rows carry them depends on the seed.",
        "",
        _md_table(("file", "column", "value written", "rows", "expected handling"),
                  [(f, f"`{c}`", v, k, h) for f, c, v, k, h in DIRTY_RECORDS]),
        "",
        f"Not errors: the {refunds} returns (`RT...` orders with a negative amount) are legitimate and must be "
        "kept; the customer-table problems sit on leads without orders, interactions or surveys, so "
        "rejecting those rows does not touch the other files.",
        "",
    ]
    return "\n".join(parts)

