"""``soups data stats DIR [--json]``: utterances, hours, speakers and skipped items per language and split."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("data", help="inspect prepared data")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    st = dsub.add_parser("stats", help="statistics of a prepared data directory")
    st.add_argument("data_dir")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=run_stats)


def run_stats(args) -> int:
    from soups.data.stats import data_stats, format_stats

    stats = data_stats(args.data_dir)
    print(json.dumps(stats, ensure_ascii=False, sort_keys=True) if args.json else format_stats(stats))
    return 0
