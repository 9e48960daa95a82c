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

# Rejection reasons in priority order: a row gets the first one that applies.
_REASONS = (
    "empty row",
    "missing customer_id",
    "missing date",
    "missing amount",
    "unparseable date",
    "unparseable amount",
    "non-finite amount",
    "unparseable quantity",
    "non-finite quantity",
    "unparseable profit",
    "non-finite profit",
    "unparseable due_date",
    "unparseable paid_date",
)
