"""Customer attribute tables: :func:`read_customers`, :class:`CustomerTable` and the field
tags of :func:`infer_field_type` (static / dynamic / system-generated)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int
from crmresearch.data.mapping import _quote_list, _short
from crmresearch.data.parsing import (
    _arrow_text,
    _empty_row_mask,
    _first_reason,
    _first_rows,
    _is_textlike,
    _missing_mask,
    _normalize_ids,
    _nul_mask,
    _parse_dates_window,
    _parse_ids,
    _parse_numbers,
    _parse_text,
    _reason_text,
    _rejected_frame,
    _summary_mask,
    row_numbering,
)
from crmresearch.data.reading import _read_raw
from crmresearch.errors import DataError


@dataclass(frozen=True)
class CustomerSummary:
    """Row accounting and field tags of a :class:`CustomerTable`."""

    source: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    customers: int
    field_types: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "customers": self.customers,
            "field_types": dict(self.field_types),
        }

    def __str__(self) -> str:
        lines = [
            f"Customer table: {self.source}",
            f"  rows read        {fmt_int(self.rows_read):>12}",
            f"  rows accepted    {fmt_int(self.rows_accepted):>12}",
            f"  rows rejected    {fmt_int(self.rows_rejected):>12}",
        ]
        for reason, count in self.rejected_by_reason.items():
            lines.append(f"    - {reason}: {fmt_int(count)}")
        lines.append(f"  customers        {fmt_int(self.customers):>12}")
        for kind in ("static", "dynamic", "system-generated"):
            names = [n for n, t in self.field_types.items() if t == kind]
            lines.append(f"  {kind + ':':<18} {', '.join(names) if names else '-'}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


class CustomerTable:
    """Validated customer attributes.

    Attributes
    ----------
    frame : DataFrame
        One row per customer, indexed by ``customer_id`` (str).
    field_types : dict
        Column -> ``"static"`` | ``"dynamic"`` | ``"system-generated"``.
    field_type_sources : dict
        Column -> how its tag was decided: ``"given"``, ``"rule: <keyword>"`` or ``"default"``.
    rejected : DataFrame
        ``row``, ``reason`` and the raw values of rejected rows.
    source, n_read, n_accepted, n_rejected
    """

    def __init__(self, frame, field_types, field_type_sources, rejected, *, source, n_read):
        self.frame = frame
        self.field_types = dict(field_types)
        self.field_type_sources = dict(field_type_sources)
        self.rejected = rejected
        self.source = source
        self.n_read = int(n_read)
        self.n_accepted = len(frame)
        self.n_rejected = len(rejected)
        if self.n_read != self.n_accepted + self.n_rejected:
            raise DataError(
                f"{source}: row accounting broken: read {self.n_read:,} but accepted "
                f"{self.n_accepted:,} + rejected {self.n_rejected:,}."
            )

    def __len__(self) -> int:
        return self.n_accepted

    def __repr__(self) -> str:
        return (
            f"CustomerTable(source={self.source!r}, read={self.n_read:,}, "
            f"accepted={self.n_accepted:,}, rejected={self.n_rejected:,})"
        )

    def fields(self, kind: str) -> list[str]:
        """Columns tagged ``kind`` (``"static"``, ``"dynamic"`` or ``"system-generated"``)."""
        if kind not in _FIELD_KINDS:
            raise ValueError(f"field kind {kind!r} unknown; use one of {', '.join(_FIELD_KINDS)}")
        return [n for n, t in self.field_types.items() if t == kind]

    def summary(self) -> CustomerSummary:
        counts = self.rejected["reason"].value_counts() if self.n_rejected else {}
        return CustomerSummary(
            source=self.source,
            rows_read=self.n_read,
            rows_accepted=self.n_accepted,
            rows_rejected=self.n_rejected,
            rejected_by_reason={str(k): int(v) for k, v in dict(counts).items()},
            customers=self.n_accepted,
            field_types=self.field_types,
        )


_FIELD_KINDS = ("static", "dynamic", "system-generated")

# Name rules for customer fields, checked in this order; the first keyword found in the
# lower-cased field name decides. System-generated first: "first_order_amount" is an amount.
# fmt: off
_FIELD_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("system-generated", (
        "volume", "amount", "revenue", "sales", "spend", "spending", "value", "total", "sum",
        "avg", "average", "mean", "median", "count", "number", "num", "n", "frequency", "recency",
        "order", "purchase_count", "quantity", "qty", "profit", "margin", "score", "last",
        "days_since", "rate", "ratio", "share", "balance", "overdue", "clv", "ltv", "rfm",
    )),
    ("static", (
        "customer_id", "id", "region", "country", "province", "state", "city", "district", "zip",
        "postcode", "postal", "industry", "sector", "gender", "sex", "birth", "birthday", "dob",
        "founded", "established", "signup", "sign_up", "register", "registered", "registration",
        "first", "join", "joined", "acquisition", "acquired", "source", "ownership", "legal",
        "type", "nationality", "language",
    )),
    ("dynamic", (
        "status", "credit", "payment", "terms", "term", "contact", "phone", "email", "mail",
        "address", "manager", "rep", "owner", "tier", "grade", "level", "segment", "discount",
        "limit", "rating", "contract", "employees", "size", "stage", "active", "churned",
        "vip", "flag", "channel",
    )),
)
# fmt: on


# The same three tags for the field names of Chinese CRM / ERP exports, checked after the English
# words of the same kind (same order: system-generated, static, dynamic). Matched as substrings.
# fmt: off
_FIELD_RULES_ZH: dict[str, tuple[str, ...]] = {
    "system-generated": (
        "金额", "销售额", "销量", "营业额", "收入", "消费", "总额", "合计", "总计", "平均", "均值",
        "次数", "数量", "频次", "频率", "订单", "购买量", "利润", "毛利", "评分", "得分", "积分",
        "最近", "最后", "末次", "余额", "欠款", "逾期", "比率", "比例", "占比", "价值", "贡献",
    ),
    "static": (
        "客户编号", "客户代码", "客户号", "会员号", "编号", "区域", "地区", "大区", "片区", "省份",
        "省", "城市", "区县", "国家", "邮编", "行业", "业态", "性别", "出生", "生日", "成立",
        "注册", "开户", "首次", "入会", "加入", "来源", "所有制", "企业性质", "类型", "民族",
        "国籍", "语言",
    ),
    "dynamic": (
        "状态", "信用", "付款", "账期", "联系人", "电话", "手机", "邮箱", "地址", "经理",
        "业务员", "销售代表", "负责人", "等级", "级别", "会员", "折扣", "额度", "评级", "合同",
        "员工", "规模", "阶段", "活跃", "流失", "标志", "标签", "渠道", "年龄",
    ),
}
# fmt: on


def _name_tokens(name: str) -> str:
    """'FirstPurchaseDate' / 'first-purchase date' -> '_first_purchase_date_'."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return "_" + "_".join(t for t in re.split(r"[^0-9a-z]+", snake.lower()) if t) + "_"


def infer_field_type(name: str) -> tuple[str, str]:
    """Tag a customer field by its name: ``(kind, why)``.

    The name is split into lower-case words (on ``_``, spaces, punctuation and camelCase) and
    the rules below are tried in order; a keyword matches whole words (a trailing plural ``s``
    is allowed: ``orders`` matches ``order``). The first match wins:

    1. **system-generated** — computed by the firm's systems from transactions: volume, amount,
       revenue, sales, spend, value, total, sum, avg/average/mean/median, count, number/num/n,
       frequency, recency, order(s), quantity/qty, profit, margin, score, last, days_since,
       rate, ratio, share, balance, overdue, clv/ltv, rfm.
       (So ``first_order_amount`` and ``last_purchase_date`` are system-generated.)
    2. **static** — fixed at acquisition: customer_id/id, region, country, province, state,
       city, district, zip/postcode/postal, industry, sector, gender/sex, birth/dob,
       founded/established, signup/register(ed)/registration, first, join(ed),
       acquisition/acquired, source, ownership, legal, type, nationality, language.
    3. **dynamic** — changes over the relationship: status, credit, payment, term(s), contact,
       phone, email/mail, address, manager, rep, owner, tier, grade, level, segment, discount,
       limit, rating, contract, employees, size, stage, active, churned, vip, flag, channel.
    4. Otherwise **dynamic** (``why = "default"``): an unknown attribute is assumed changeable,
       so that it is never used as a fixed covariate by mistake.

    Chinese field names get the same tags from a dictionary of common CRM / ERP export names,
    matched as substrings after the English words of each kind (in the same order): e.g.
    system-generated 金额 销售额 消费 次数 订单 利润 最近 余额 逾期 占比; static 客户编号 区域
    地区 省份 城市 行业 业态 性别 出生 注册 开户 首次 来源 类型; dynamic 状态 信用 付款 账期
    联系人 电话 地址 客户经理 业务员 等级 会员 额度 评级 渠道 年龄 (age changes every year; a
    birth date is static). So 注册日期 is static, 会员等级 and 信用等级 dynamic, 消费金额
    system-generated.

    Override any tag with ``read_customers(..., field_types={name: kind})``.

    Examples
    --------
    >>> infer_field_type("Region")
    ('static', 'rule: region')
    >>> infer_field_type("credit_terms_days")
    ('dynamic', 'rule: credit')
    >>> infer_field_type("avg_monthly_volume")
    ('system-generated', 'rule: volume')
    >>> infer_field_type("业态")
    ('static', 'rule: 业态')
    """
    words = _name_tokens(name)
    for kind, keywords in _FIELD_RULES:
        for keyword in keywords:
            if re.search(rf"_{re.escape(keyword)}s?_", words):
                return kind, f"rule: {keyword}"
        for keyword in _FIELD_RULES_ZH[kind]:  # Chinese has no word breaks: substrings
            if keyword in name:
                return kind, f"rule: {keyword}"
    return "dynamic", "default"


def read_customers(
    source: str | os.PathLike | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    field_types: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    log_columns: Mapping[str, str] | None = None,
) -> CustomerTable:
    """Read customer attributes, one row per customer, and tag each field.

    Parameters
    ----------
    source : path or DataFrame
        CSV / delimited text, Parquet or a DataFrame with a ``customer_id`` column.
    columns : mapping, optional
        ``{name_in_file: new_name}``; use it at least to map the id column onto ``customer_id``
        (CLI ``--customer-columns 客户编号=customer_id``; report parameter
        ``customer_columns={客户编号: customer_id}``).
    field_types : mapping, optional
        ``{field: "static" | "dynamic" | "system-generated"}`` overriding the name rules of
        :func:`infer_field_type` (static: id, region, industry, signup/first dates…; dynamic:
        status, credit and payment terms, contact…; system-generated: volumes, amounts,
        averages, counts…; unknown names default to dynamic).
    date_format : str, optional
        ``strptime`` format for fields whose name ends in ``date`` or ``日期`` (or is
        ``since``/``*_at``/``生日``); default the year-first forms of :func:`read_transactions`.
    encoding, sep, sheet
        As in :func:`read_transactions` (encodings detected, Excel sheets by name or index).
    log_columns : mapping, optional
        The transaction log's mapping (``read_transactions(columns=)``, CLI ``--columns``, report
        parameter ``columns``). When the file has no ``customer_id`` column and ``columns`` maps
        nothing onto it, the file column that ``log_columns`` maps onto ``customer_id`` is used,
        if the file has a column of that name: the firm's exports share their headers, so
        ``--columns 客户编号=customer_id`` serves the customer file too. Only the id is taken
        from it; the log's other names are not applied here.

    Returns
    -------
    CustomerTable
        ``.frame`` indexed by ``customer_id``; ``.field_types``; ``.rejected``; ``.summary()``.

    Notes
    -----
    Rejected with a reason: empty rows, a missing ``customer_id``, a duplicate ``customer_id``
    (every occurrence after the first; the first is kept), and a non-empty unparseable value in a
    date field. Numeric-looking text columns (every non-missing value parses) become float64.
    """
    table = _read_raw(source, encoding=encoding, sep=sep, sheet=sheet, kind="customer table")
    raw, name = table.frame, table.name
    n_read = len(raw)
    cols = [str(c).strip() for c in raw.columns]
    raw.columns = cols
    renamed = _renamed_columns(cols, dict(columns or {}), name, dict(log_columns or {}))
    data = raw.copy()
    data.columns = renamed

    given = dict(field_types or {})
    bad = {k: v for k, v in given.items() if v not in _FIELD_KINDS}
    if bad:
        raise DataError(
            f"{name}: field_types {bad} uses unknown kinds. Fix: use one of "
            f"{', '.join(_FIELD_KINDS)}."
        )
    absent = [k for k in given if k not in renamed]
    if absent:
        raise DataError(
            f"{name}: field_types names {absent} that are not columns. Found: "
            f"{_quote_list(renamed)}."
        )

    id_col = data["customer_id"]
    id_text = _normalize_ids(_arrow_text(id_col))[0] if _is_textlike(id_col) else None
    ids_missing = _missing_mask(id_col, id_text)
    ids = _parse_ids(id_col, id_text)  # same normalization as transactions: the keys join
    checks: list[tuple[str, np.ndarray]] = [("empty row", _empty_row_mask(raw, ids_missing))]
    if table.has_nul:
        checks.append(("NUL byte", _nul_mask(raw)))
    for reason in sorted(set(table.problems.values())):
        rows = [r for r, why in table.problems.items() if why == reason]
        mask = np.zeros(n_read, dtype=bool)
        mask[rows] = True
        checks.append((reason, mask))
    if id_text is not None:
        checks.append(("summary row", _summary_mask(id_text)))
    checks.append(("missing customer_id", ids_missing))
    out: dict[str, pd.Series] = {}
    for col in renamed:
        if col == "customer_id":
            continue
        s = data[col]
        miss = _missing_mask(s)
        if _is_date_field(col):
            parsed, out_of_range = _parse_dates_window(s, date_format, miss, excel=table.excel)
            checks.append((f"unparseable {col}", ~miss & ~out_of_range & parsed.isna().to_numpy()))
            checks.append((f"{col} out of range", out_of_range))
            out[col] = parsed
        elif _is_textlike(s):
            as_num = _parse_numbers(s, miss)
            if (~miss & as_num.isna().to_numpy()).any() or miss.all():
                out[col] = _parse_text(s, miss)
            else:
                out[col] = as_num
        else:
            out[col] = s.reset_index(drop=True)
    # Duplicates among the otherwise acceptable rows: keep the first, reject the rest.
    ok_so_far = _first_reason(checks, n_read) < 0
    dup = np.zeros(n_read, dtype=bool)
    dup[ok_so_far] = ids[ok_so_far].duplicated(keep="first").to_numpy()
    checks.append(("duplicate customer_id", dup))
    code = _first_reason(checks, n_read)
    accepted = code < 0

    frame = pd.DataFrame(out, index=pd.RangeIndex(n_read)).loc[accepted]
    frame.index = pd.Index(ids[accepted].to_numpy(), name="customer_id", dtype="str")
    numbering = row_numbering(excel=table.excel, text=table.encoding is not None)
    rejected = _rejected_frame(raw, code, checks, first_row=table.first_row)
    if len(frame) == 0:
        raise DataError(
            f"{name}: no row was accepted ({n_read:,} read, all rejected: "
            f"{_reason_text(rejected)}; first rejected rows: {_first_rows(rejected, numbering=numbering)}). "
            "Fix: check the customer_id column."
        )
    kinds, why = {}, {}
    for col in ["customer_id", *frame.columns]:
        if col in given:
            kinds[col], why[col] = given[col], "given"
        else:
            kinds[col], why[col] = infer_field_type(col)
    return CustomerTable(frame, kinds, why, rejected, source=name, n_read=n_read)


def _renamed_columns(cols: list[str], columns: dict, name: str, log_columns: dict) -> list[str]:
    """The file's column names after ``columns=``; a ``customer_id`` column is required (when
    none results, the column the log's ``log_columns`` maps onto it, by the same name)."""
    unknown = [c for c in columns if c not in cols]
    if unknown:
        raise DataError(
            f"{name}: columns= (CLI --customer-columns, report customer_columns) names {unknown} "
            f"that are not in the file. Found columns: "
            f"{_quote_list(cols)}. Fix: use the file's own column names as the keys."
        )
    renamed = [columns.get(c, c) for c in cols]
    if "customer_id" not in renamed:
        lower = {c.lower(): c for c in cols}
        if "customer_id" in lower and lower["customer_id"] not in columns:
            renamed[cols.index(lower["customer_id"])] = "customer_id"
    log_ids = [str(k).strip() for k, v in log_columns.items() if v == "customer_id"]
    if "customer_id" not in renamed:
        shared = [c for c in log_ids if c in cols and c not in columns]
        if shared:  # the log's id column, same header in this file (the firm's exports share them)
            renamed[cols.index(shared[0])] = "customer_id"
    if "customer_id" not in renamed:
        guess = _likely_id_column(cols)
        log_note = (
            f" (the log's columns map {_quote_list(log_ids)} onto customer_id; this file has no "
            "column of that name)"
            if log_ids
            else ""
        )
        raise DataError(
            f"{name}: missing required column 'customer_id'{log_note}. Found columns: "
            f"{_quote_list(cols)}. Fix: map the file's id column onto it, e.g. "
            f"columns={{'{guess}': 'customer_id'}} (CLI --customer-columns {guess}=customer_id; "
            f"report -p 'customer_columns={{{guess}: customer_id}}')."
        )
    if len(set(renamed)) != len(renamed):
        dup = sorted({c for c in renamed if renamed.count(c) > 1})
        raise DataError(
            f"{name}: after renaming, column names {dup} occur twice. Fix: map only one file "
            "column onto each name."
        )
    return renamed


def _likely_id_column(cols: list[str]) -> str:
    """The file's likely id column, for the fix of a missing ``customer_id``: the first column
    whose name contains 客户, 编号, id or code (any case), else the first column."""
    for col in cols:
        if any(key in col.lower() for key in ("客户", "编号", "id", "code")):
            return _short(col)
    return _short(cols[0]) if cols else "YOURID"


def _is_date_field(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(("date", "_at", "日期", "日")) or lowered in ("since", "dob", "生日"):
        return True
    return False
