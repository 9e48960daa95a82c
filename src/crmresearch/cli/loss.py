"""``crmresearch loss LOG --calibration-end DATE --holdout-end DATE --out loss.json``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crmresearch import _format
from crmresearch._io import write_json
from crmresearch._privacy import key_fingerprint, load_key, new_key
from crmresearch.cli._args import (
    HelpFormatter,
    add_engine_options,
    add_log_options,
    check_order,
    check_output,
    date_type,
    engine_session,
    index_file,
    load_data,
    one_line_errors,
    writing,
)
from crmresearch.study import Study, StudyParams

HELP = "potential core-customer loss: valuable customers the volume tiers neglect, and their churn"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "loss",
        help=HELP,
        description=(
            "Compute calibration-period indicators, the classification index (fitted on them, "
            "or loaded with --index) and volume ABC tiers on calibration net revenue; core = top "
            "--core-share of customers by the index; neglected core = core outside the top "
            "volume tier(s); over-served = top volume tier(s) outside the core. Compares "
            "holdout churn (no purchase in the holdout window) and revenue lost (calibration "
            "revenue of churned customers) of the four cells: the risk difference with the "
            "Miettinen-Nurminen score CI and the p-value of the same test, the risk ratio, and "
            "logistic regressions adjusted for calibration spend. LOG is a transaction file, "
            "'cdnow' or 'synthetic'."
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("log", metavar="LOG", help="transaction file, 'cdnow' or 'synthetic'")
    parser.add_argument("--calibration-end", type=date_type("--calibration-end"),
                        default=None, metavar="DATE",
                        help="last day of the calibration window (inclusive); required for a "
                        "log file (cdnow: 1997-09-30; synthetic: the planted date)")  # fmt: skip
    parser.add_argument("--calibration-start", type=date_type("--calibration-start"),
                        default=None, metavar="DATE",
                        help="first day of the calibration window; none = start of the log")  # fmt: skip
    parser.add_argument("--holdout-end", type=date_type("--holdout-end"),
                        default=None, metavar="DATE",
                        help="last day of the holdout window (inclusive); required for a log "
                        "file (cdnow: 1998-06-30; synthetic: the planted date)")  # fmt: skip
    parser.add_argument("--holdout-start", type=date_type("--holdout-start"),
                        default=None, metavar="DATE",
                        help="first day of the holdout; none = the day after calibration end")  # fmt: skip
    parser.add_argument("--index", default=None, type=index_file, metavar="INDEX.json",
                        help="fitted classification index from `crmresearch index`")  # fmt: skip
    parser.add_argument("--config", default="ecommerce", metavar="NAME|FILE",
                        help="index system (indicators, fills, log transforms)")  # fmt: skip
    parser.add_argument("--core-share", type=float, default=None,
                        help="share of customers that are core by the index (default and 0: like "
                        "for like, as many customers as the top volume tier(s))")  # fmt: skip
    parser.add_argument("--volume-shares", default="0.05,0.15,0.80", metavar="A,B,C",
                        help="ABC customer shares of the volume tiers")  # fmt: skip
    parser.add_argument("--top-tiers", default=None, metavar="T1,T2",
                        help="volume tiers that get core treatment (default: the top tier)")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="FILE.json", help="result (JSON)")
    parser.add_argument("--list", default=None, metavar="FILE",
                        help="also write the complete customer lists (problem customers, "
                        "neglected core, rising stars, over-served; one primary list per customer, "
                        "a treatment each): .csv (UTF-8 with BOM, opens in Excel) or .xlsx (one "
                        "sheet per list); pseudonymized ids, revenue in bands, no index column")  # fmt: skip
    parser.add_argument("--id-key", default=None, metavar="FILE",
                        help="key file for the pseudonyms (keyed HMAC); created with mode 0600 "
                        "when missing. The same key gives the same pseudonyms in every run: keep "
                        "it. Without it a fresh key is used and pseudonyms change per run")  # fmt: skip
    parser.add_argument("--raw-ids", action="store_true",
                        help="also write pseudonym -> real customer id to a separate file next "
                        "to --list (NAME.raw-ids.csv); keep it inside the firm")  # fmt: skip
    parser.add_argument("--currency", default=None, metavar="SYMBOL",
                        help="currency symbol for money in the lists and findings, e.g. ¥; default: "
                        "the one the amounts carry (¥ for 元/RMB/CNY), else $")  # fmt: skip
    parser.add_argument("--rise", type=float, default=10.0,
                        help="rising star: index rise (0-100 points) over --rise-periods")  # fmt: skip
    parser.add_argument("--rise-freq", choices=("M", "Q"), default="Q",
                        help="period of the rising-star comparison: month or quarter")  # fmt: skip
    parser.add_argument("--rise-periods", type=int, default=1,
                        help="look-back in periods for rising stars")  # fmt: skip
    add_log_options(parser)
    add_engine_options(parser)
    parser.set_defaults(func=run)


def study_params(args: argparse.Namespace) -> StudyParams:
    """The study's parameters from the command line (anything not given: the Study's default,
    the same as the reports')."""

    def day(value):
        return f"{value:%Y-%m-%d}" if value is not None else ""

    return StudyParams(
        calibration_start=day(args.calibration_start),
        calibration_end=day(args.calibration_end),
        holdout_start=day(args.holdout_start),
        holdout_end=day(args.holdout_end),
        index_config=args.config,
        tier_shares=tuple(float(s) for s in args.volume_shares.split(",")),
        seed=args.seed,
        engine=args.engine,
    )


def compute(study: Study, *, core_share: float | None = None, top_tiers=None, id_key=None):
    """``loss.potential_core_loss`` on the study's composite, volume tiers and outcomes (the
    same call the core-customer-loss report makes); returns the result and the run's facts."""
    from crmresearch.loss import potential_core_loss

    print("calibration indicators ...", file=sys.stderr)
    features = study.features
    print("classification index ...", file=sys.stderr)
    composite = study.composite
    print("holdout outcomes ...", file=sys.stderr)
    result = potential_core_loss(
        composite, study.volume_tiers, study.outcomes, core_share=core_share or None,
        top_volume_tiers=tuple(top_tiers) if top_tiers else (study.top_tier,),
        revenue_before=features["monetary"], pseudonymize=True, id_key=id_key,
    )  # fmt: skip
    X = study.index_input
    return result, {"windows": study.windows(), "volume_rule": study.volume_tiers.attrs["rule"],
                    "index_indicators": list(X.columns), "config": X.attrs.get("config")}  # fmt: skip


def summary_text(result, list_file: str | None, currency: str = "$") -> str:
    """The result's summary, its neglected-core line saying where (or whether) the list goes."""
    from crmresearch.loss import NEGLECTED_LINE_START

    n = len(result.neglected)
    where = f"list written to {list_file}" if list_file else "write the list with --list FILE"
    lines = [
        f"{NEGLECTED_LINE_START}{n:,} customers ({where})"
        if line.startswith(NEGLECTED_LINE_START)
        else line
        for line in result.summary(currency=currency).splitlines()
    ]
    return "\n".join(lines)


def check_windows(args: argparse.Namespace) -> None:
    """Window order, checked before any data is read: calibration, then holdout."""
    check_order(("--calibration-start", args.calibration_start),
                ("--calibration-end", args.calibration_end))  # fmt: skip
    check_order(("--calibration-end", args.calibration_end),
                ("--holdout-start", args.holdout_start), strict=True)  # fmt: skip
    check_order(("--calibration-end", args.calibration_end), ("--holdout-end", args.holdout_end),
                strict=True)  # fmt: skip
    check_order(("--holdout-start", args.holdout_start), ("--holdout-end", args.holdout_end))


def currency_symbol(args: argparse.Namespace, log) -> str:
    """``--currency``, else the symbol of the currency the amounts carried, else "$"."""
    return _format.currency_symbol(args.currency, log)


def customer_lists(result, study: Study, args: argparse.Namespace):
    """The complete manager lists (``loss.customer_lists``): problem customers, neglected core,
    rising stars (validated on the holdout) and over-served, with the result's id key and each
    customer's P(alive) (as the report's lists)."""
    from crmresearch.loss import problem_customers

    print("rising stars (the index per period) ...", file=sys.stderr)
    rising = study.rising_stars(rise=args.rise, freq=args.rise_freq, periods=args.rise_periods)
    print("P(alive) (BG/NBD on the calibration window) ...", file=sys.stderr)
    value = study.customer_value
    if value.note:
        print(value.note, file=sys.stderr)
    return result.customer_lists(rising=rising.rising, problems=problem_customers(study.features),
                                 p_alive=value.p_alive,
                                 currency=currency_symbol(args, study.log))  # fmt: skip


def by_attribute(result, study: Study) -> dict:
    """The four cells per value of each static customer attribute (``--customers FILE``):
    customers per cell and the neglected core's holdout churn (``loss.cells_by_attribute``)."""
    from crmresearch.loss import cells_by_attribute

    return cells_by_attribute(result, study.static_attributes)


def run(args: argparse.Namespace) -> int:
    from crmresearch.index import ClassificationIndex

    if Path(args.out).suffix.lower() != ".json":
        raise ValueError(f"--out {args.out}: use a .json file name")
    if args.list and Path(args.list).suffix.lower() not in (".csv", ".xlsx"):
        raise ValueError(f"--list {args.list}: use a .csv or .xlsx file name")
    if args.raw_ids and not args.list:
        raise ValueError("--raw-ids writes the real ids next to --list FILE: give --list")
    check_windows(args)
    if args.log.lower() not in ("cdnow", "synthetic") and not (
        args.calibration_end and args.holdout_end
    ):
        raise ValueError(
            f"{args.log}: give --calibration-end and --holdout-end (YYYY-MM-DD) for a log file"
        )
    for path in filter(None, (args.out, args.list)):
        check_output(path)
    params = study_params(args)
    tops = (
        tuple(s.strip() for s in args.top_tiers.split(",") if s.strip()) if args.top_tiers else None
    )
    spark = engine_session(args)
    t0 = time.perf_counter()
    print(f"reading {args.log} ...", file=sys.stderr)
    index = ClassificationIndex.load(args.index) if args.index else None
    source = load_data(args.log, args, command="loss")
    study = Study(source, params, index=index, customers=args.customers,
                  customer_columns=args.customer_columns, spark=spark)  # fmt: skip
    if args.customers:
        study.customers  # noqa: B018 - read (and validated) before the long part
    key, key_lines = id_key(args.id_key)
    result, meta = compute(study, core_share=args.core_share, top_tiers=tops, id_key=key)
    print(study.describe_windows().replace(" to ", " .. "))
    print(f"volume tiers: {meta['volume_rule']}")
    money = currency_symbol(args, study.log)
    print(summary_text(result, args.list, money).replace("raw ids)", "real ids)"))
    facts = {**meta, **result.to_dict(include_list=False), "log": Path(args.log).name}
    facts["findings"] = result.findings(currency=money)
    facts["id_key_fingerprint"] = key_fingerprint(key)
    if args.customers:
        tables = by_attribute(result, study)
        for column, table in tables.items():
            print(
                f"\ncustomers per cell by {column} (neglected_churn_rate: holdout churn of the "
                "neglected core; _low/_high: its Wilson 95 % CI):"
            )
            rates = ("neglected_churn_rate", "neglected_churn_low", "neglected_churn_high")
            pct = lambda x: "–" if x != x else f"{x:.1%}"  # noqa: E731 - NaN: no neglected core
            print(table.to_string(formatters=dict.fromkeys(rates, pct)))
        facts["by_attribute"] = {
            col: {str(v): {k: _plain(x) for k, x in row.items()} for v, row in t.iterrows()}
            for col, t in tables.items()
        }
    if args.list:
        lists = customer_lists(result, study, args)
        target = Path(args.list)
        raw = target.with_name(f"{target.stem}.raw-ids.csv") if args.raw_ids else None
        with writing(target):
            lists.write(target.parent, stem=target.stem, formats=(target.suffix[1:].lower(),),
                        real_ids_file=raw)  # fmt: skip
        facts["lists"] = {k: int(v) for k, v in lists.counts()["primary"].items()}
        print(lists.summary())
        for line in key_lines:
            print(line)
        origin = (
            f"key {args.id_key}"
            if args.id_key
            else ("a fresh key (pseudonyms change per run; keep them with --id-key FILE)")
        )
        print(f"wrote {target} ({len(lists.table):,} customers; pseudonyms from {origin})")
        if raw is not None:
            print(f"wrote {raw} (pseudonym -> real customer id: keep inside the firm)")
    with writing(args.out):
        write_json(args.out, facts)
    print(f"wrote {args.out}")
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def id_key(path: str | None) -> tuple[bytes, list[str]]:
    """The firm's pseudonym key from ``path`` (created with mode 0600 when missing), else a fresh
    one; and what to tell the user about it."""
    if not path:
        return new_key(), []
    existed = Path(path).exists()
    key = load_key(path, create=True)
    return key, [] if existed else [
        f"created id key {path} (mode 0600): keep it to get the same pseudonyms"
    ]


def _plain(x):
    import math

    if isinstance(x, float) and math.isnan(x):
        return None
    return x.item() if hasattr(x, "item") else x
