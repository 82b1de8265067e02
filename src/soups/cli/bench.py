"""``soups bench data|moo|dist``: benchmarks that print one JSON object (``--json``) or a short summary.

Examples::

    soups bench data --json                            # feature extraction + batching on the built-in corpus
    soups bench data --manifest-size 300000 --json     # + start-up time and memory on a 300k-cut manifest

Each benchmark registers itself in :data:`BENCHES` (``name -> register function``); ``moo`` and ``dist`` are
added the same way as ``data``.
"""

from __future__ import annotations

import json


def _register_data(bsub) -> None:
    p = bsub.add_parser("data", help="data pipeline: extraction/batching throughput, start-up on a large manifest")
    p.add_argument("--manifest-size", type=int, default=0,
                   help="also measure start-up on a manifest of N synthetic cut records (0: skip; paper scale: "
                        "300000)")
    p.add_argument("--size", choices=["tiny", "small", "medium"], default="tiny",
                   help="built-in corpus size for the throughput part (English only; default: tiny)")
    p.add_argument("--threads", type=int, default=2, help="feature extraction threads (default: 2)")
    p.add_argument("--batch-cuts", type=int, default=16, help="utterances per batch (default: 16)")
    p.add_argument("--work", default="runs/bench-data", help="working folder (corpus and manifests are reused)")
    p.add_argument("--skip-throughput", action="store_true", help="only the start-up part")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_data)


# name -> function(bench_subparsers) adding that benchmark's parser
BENCHES = {"data": _register_data}


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (data pipeline, MOO, distributed)")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for add in BENCHES.values():
        add(bsub)


def _summary_data(result: dict) -> str:
    lines = []
    f = result.get("features")
    if f:
        lines.append(f"built-in corpus: {f['utterances']} utterances, {f['audio_s']} s of audio, "
                     f"{f['extraction_threads']} extraction threads")
        for name in ("extraction", "batching_from_features", "batching_from_audio"):
            r = f[name]
            lines.append(f"  {name:<24} {r['utt_per_s']:>8} utt/s  {r['x_realtime']:>7} x real time")
    s = result.get("startup")
    if s:
        lines.append(f"start-up on {s['manifest']['cuts']} cuts: build {s['stream_build_s']} s, first batch "
                     f"{s['first_batch_s']} s; RSS {s['rss_after_imports_mb']} -> {s['rss_after_build_mb']} -> "
                     f"{s['rss_after_first_batch_mb']} MB (peak {s['peak_rss_mb']}); eager cuts would need "
                     f"~{s['eager_estimate_mb']} MB")
    return "\n".join(lines)


def run_data(args) -> int:
    from soups.bench.data import run_data_bench

    result = run_data_bench(args.work, args.manifest_size, args.size, args.threads, args.batch_cuts,
                            args.skip_throughput)
    print(json.dumps(result, ensure_ascii=False) if args.json else _summary_data(result))
    return 0
