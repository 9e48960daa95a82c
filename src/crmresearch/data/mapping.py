"""Mapping a file's column names onto canonical names (and guessing a mapping for the fix
in an error message)."""

from __future__ import annotations

import re

from crmresearch.data.schema import CANONICAL_COLUMNS
from crmresearch.errors import DataError


def parse_column_mapping(text: str | None) -> dict[str, str]:
    """Parse the CLI form ``"cust=customer_id,value=amount"`` into ``{"cust": "customer_id", ...}``."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise DataError(
                f"--columns item {part!r} has no '='. Fix: write FILE_NAME=CANONICAL_NAME pairs "
                "separated by commas, e.g. --columns cust=customer_id,value=amount"
            )
        src, _, dst = part.partition("=")
        mapping[src.strip()] = dst.strip()
    return mapping


_GUESS_PATTERNS = {
    "customer_id": r"cust|client|buyer|member|user|account|^id$|_id$|客户|客戶|会员|會員|编号|編號",
    "date": r"date|time|day|dt$|^dt|日期|时间|時間",
    "amount": r"amount|value|revenue|sales|price|total|spend|dollar|sum|money|net|金额|金額|销售额|實收|实收|总价",
    "quantity": r"qty|quantity|units|number|count|cds|数量|數量|件数",
    "profit": r"profit|margin|利润|毛利",
    "category": r"categ|product|sku|item|class|品类|类别|商品",
    "channel": r"channel|store|source|渠道|门店",
    "due_date": r"due|到期",
    "paid_date": r"paid|payment|付款日",
}


def _guess_mapping(found: list[str], targets) -> dict[str, str]:
    guess: dict[str, str] = {}
    for target in targets:
        for col in found:
            if col in guess or col in CANONICAL_COLUMNS:
                continue
            if re.search(_GUESS_PATTERNS.get(target, "$^"), col.lower()):
                guess[col] = target
                break
    return guess


def _map_columns(found_cols, columns, name, *, canonical, required):
    """Return ({file column: canonical name}, ignored file columns)."""
    found = [str(c) for c in found_cols]
    columns = dict(columns or {})
    bad_keys = [k for k in columns if k not in found]
    if bad_keys:
        raise DataError(
            f"{name}: columns= names {_quote_list(bad_keys)} that are not in the file. Found "
            f"columns: {_quote_list(found)}. Fix: use the file's own column names as keys, e.g. "
            f"columns={{'{_short(found[0])}': 'customer_id'}}."
        )
    bad_targets = [v for v in columns.values() if v not in canonical]
    if bad_targets:
        raise DataError(
            f"{name}: columns= maps onto unknown names {_quote_list(bad_targets)}. Fix: map onto "
            f"the canonical names {', '.join(canonical)}."
        )
    mapping: dict[str, str] = {}
    for col in found:
        if col in columns:
            mapping[col] = columns[col]
        elif col.strip().lower() in canonical and col.strip().lower() not in columns.values():
            mapping[col] = col.strip().lower()
    targets = list(mapping.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        srcs = {t: [s for s, v in mapping.items() if v == t] for t in dup}
        raise DataError(
            f"{name}: several file columns map onto the same canonical column: {srcs}. Fix: map "
            "exactly one file column onto each canonical name."
        )
    missing = [c for c in required if c not in targets]
    if missing:
        unmapped = [c for c in found if c not in mapping]
        guess = _guess_mapping(unmapped, missing)
        example = dict(guess)
        for m in missing:
            if m not in example.values():
                example[f"<{m} column>"] = m
        cli = ",".join(f"{k}={v}" for k, v in example.items())
        py = ", ".join(f"'{k}': '{v}'" for k, v in example.items())
        raise DataError(
            f"{name}: missing required column(s) {_quote_list(missing)}. Found columns: "
            f"{_quote_list(found)}. Fix: map the file's names onto the canonical ones with "
            f"columns={{{py}}} (CLI: --columns {cli})."
        )
    ignored = tuple(c for c in found if c not in mapping)
    return mapping, ignored


def _short(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters (error messages never echo a huge header or line)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote_list(items) -> str:
    items = list(items)
    shown = ", ".join(repr(_short(i)) for i in items[:20])
    return shown + (f", … ({len(items)} in all)" if len(items) > 20 else "")


def unique_column_names(names: list[str]) -> list[str]:
    """Header names made unique the way pandas does it: an empty name becomes ``Unnamed: i``,
    a repeated one ``name.1``, ``name.2`` … (so no column is silently overwritten)."""
    out, seen = [], {}
    for i, n in enumerate(names):
        n = n or f"Unnamed: {i}"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out
