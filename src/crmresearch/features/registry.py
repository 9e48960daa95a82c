"""The indicator registry: every customer indicator's labels, direction, inputs, unit and formula.

The engines (:mod:`crmresearch.features.engines`) compute these definitions; the index reads
``direction`` to orient cost indicators and the reports read the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COUNT_INDICATORS",
    "DAYS_PER_MONTH",
    "INDICATORS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Indicator",
]

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
OPTIONAL_COLUMNS = ("quantity", "profit", "category", "channel", "due_date", "paid_date")
# Average Gregorian month, used to turn days of exposure into months.
DAYS_PER_MONTH = 365.2425 / 12


@dataclass(frozen=True)
class Indicator:
    """One customer indicator: what it means, which columns it needs, which way is better."""

    name: str
    label_en: str
    label_zh: str
    direction: int  # +1 benefit (more is better for the firm), -1 cost (less is better)
    needs: tuple[str, ...]  # canonical columns beyond customer_id
    unit: str
    description: str  # the precise formula

    @property
    def formula(self) -> str:
        """The precise formula (the same text as ``description``)."""
        return self.description


_IND = [
    Indicator(
        "recency_days",
        "Recency",
        "最近购买间隔",
        -1,
        ("date",),
        "days",
        "end - (last transaction date in the window), in days; 0 = bought on the end date.",
    ),
    Indicator(
        "frequency",
        "Frequency (orders)",
        "购买频次",
        +1,
        ("date",),
        "orders",
        "Number of transaction rows in the window (an order = a row; returns and zero amounts "
        "count as rows).",
    ),
    Indicator(
        "purchase_days",
        "Purchase days",
        "购买天数",
        +1,
        ("date",),
        "days",
        "Number of distinct transaction dates in the window.",
    ),
    Indicator(
        "monetary",
        "Monetary (net revenue)",
        "消费金额",
        +1,
        ("date", "amount"),
        "currency",
        "Net revenue: sum(amount) over the window's rows, returns (negative amounts) included.",
    ),
    Indicator(
        "avg_order_value",
        "Average order value",
        "平均订单金额",
        +1,
        ("date", "amount"),
        "currency/order",
        "monetary / frequency.",
    ),
    Indicator(
        "quantity",
        "Quantity",
        "购买数量",
        +1,
        ("date", "quantity"),
        "units",
        "sum(quantity) over the window's rows (returned units, if negative, net out).",
    ),
    Indicator(
        "tenure_days",
        "Tenure (length of cooperation)",
        "合作时长",
        +1,
        ("date",),
        "days",
        "end - (first transaction date of the customer in the whole log up to end), in days. "
        "History before `start` counts: the relationship began then.",
    ),
    Indicator(
        "active_months",
        "Active months",
        "活跃月数",
        +1,
        ("date",),
        "months",
        "Number of distinct calendar months (year, month) with at least one transaction in "
        "the window.",
    ),
    Indicator(
        "monthly_volume",
        "Average monthly volume",
        "月均购买量",
        +1,
        ("date",),
        "units/month",
        "sum(quantity) / exposure_months, where exposure_months = max(1, (end - max(window "
        "start, first transaction date) + 1) / 30.436875): the volume per month the customer "
        "was in the window since their first purchase, at least one month so that brand-new "
        "customers are not inflated. Without a quantity column the numerator is frequency "
        "(orders/month) and attrs['notes'] says so.",
    ),
    Indicator(
        "regularity_cv",
        "Purchase irregularity (CV of gaps)",
        "购买间隔变异系数",
        -1,
        ("date",),
        "ratio",
        "Coefficient of variation of the gaps (days) between consecutive distinct purchase "
        "dates in the window: sd(gaps, ddof=1) / mean(gaps). NaN with fewer than 2 gaps (fewer "
        "than 3 purchase days); counted in attrs['undefined']. 0 = perfectly regular; an index "
        "config may fill NaN with 1.0 (the CV of memoryless/Poisson purchasing).",
    ),
    Indicator(
        "spend_trend",
        "Spend trend",
        "消费趋势",
        +1,
        ("date", "amount"),
        "ratio",
        "(R2 - R1) / (|R1| + |R2|), where R1, R2 = net revenue in the first and second half of "
        "the window [s, end] (s = start, or the log's first date when start is None); a date d "
        "is in the second half when 2 * (d - s) >= (end - s + 1) days. Range [-1, 1]; 0 when "
        "R1 = R2 = 0.",
    ),
    Indicator(
        "profit",
        "Profit",
        "利润",
        +1,
        ("date", "profit"),
        "currency",
        "sum(profit) over the window's rows.",
    ),
    Indicator(
        "margin_rate",
        "Margin rate",
        "毛利率",
        +1,
        ("date", "amount", "profit"),
        "ratio",
        "sum(profit) / sum(amount) over the window's rows; NaN when net revenue <= 0.",
    ),
    Indicator(
        "return_rate",
        "Return rate",
        "退货率",
        -1,
        ("date", "amount"),
        "ratio",
        "Returned share of gross sales: sum(-amount | amount < 0) / sum(amount | amount > 0) "
        "over the window's rows; NaN when gross sales are 0. Skipped (unless requested) when "
        "the window holds no negative amount at all, since it would be 0 for everyone.",
    ),
    Indicator(
        "category_breadth",
        "Category breadth",
        "品类广度",
        +1,
        ("date", "category"),
        "categories",
        "Number of distinct non-missing categories in the window's rows.",
    ),
    Indicator(
        "channel_count",
        "Channel count",
        "渠道数",
        +1,
        ("date", "channel"),
        "channels",
        "Number of distinct non-missing channels in the window's rows.",
    ),
    Indicator(
        "late_payment_rate",
        "Late-payment rate",
        "逾期付款率",
        -1,
        ("date", "due_date", "paid_date"),
        "ratio",
        "Share of the window's invoices (rows with a due_date) that were paid late, judged as "
        "of `end`: a payment dated after `end` is treated as not yet made. An invoice is late "
        "when paid after its due date, or unpaid at `end` with due_date < end; it is on time "
        "when paid on or before its due date. Invoices not yet due and unpaid at `end` are "
        "excluded (status unknown). NaN without any invoice of known status.",
    ),
    Indicator(
        "days_overdue",
        "Mean days overdue",
        "平均逾期天数",
        -1,
        ("date", "due_date", "paid_date"),
        "days",
        "Mean over the same invoices of max(0, p - due_date), p = paid_date if paid by `end`, "
        "else `end` (days overdue so far). NaN without any invoice of known status.",
    ),
]
INDICATORS: dict[str, Indicator] = {ind.name: ind for ind in _IND}
"""Registry of customer indicators, in the canonical column order of the result."""

COUNT_INDICATORS = {
    "recency_days", "frequency", "purchase_days", "tenure_days", "active_months",
    "category_breadth", "channel_count",
}  # fmt: skip
