"""The canonical transaction schema: column names, optional groups, missing tokens and the
rejection reasons in priority order."""

from __future__ import annotations

CANONICAL_COLUMNS = (
    "customer_id",
    "date",
    "amount",
    "quantity",
    "profit",
    "category",
    "channel",
    "due_date",
    "paid_date",
)
REQUIRED_COLUMNS = ("customer_id", "date", "amount")
_NUMERIC_OPTIONAL = ("quantity", "profit")
_TEXT_OPTIONAL = ("category", "channel")
_DATE_OPTIONAL = ("due_date", "paid_date")

# Tokens read as "missing" (after stripping whitespace), in addition to the empty string.
_NA_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "Null", "None", "none")

# Rejection reasons in priority order: a row gets the first one that applies. Reasons found
# while reading come first and may carry numbers ("5 fields, header has 3").
_REASONS = (
    "empty row",
    "NUL byte",
    "summary row",
    "missing customer_id",
    "missing date",
    "missing amount",
    "unparseable date",
    "date out of range",
    "unparseable amount",
    "non-finite amount",
    "amount out of range",
    "mixed currency",
    "unparseable quantity",
    "non-finite quantity",
    "quantity out of range",
    "unparseable profit",
    "non-finite profit",
    "profit out of range",
    "mixed currency in profit",
    "unparseable due_date",
    "due_date out of range",
    "unparseable paid_date",
    "paid_date out of range",
)
