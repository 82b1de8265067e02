"""``soups bench data|moo|dist|decode``: benchmarks that print one JSON object (``--json``) or a short summary.

Examples::

    soups bench data --json                            # feature extraction + batching on the built-in corpus
    soups bench data --manifest-size 300000 --json     # + start-up time and memory on a 300k-cut manifest
    soups bench moo --json --growth                    # MOO modes vs linear (tiny + mid), cost growth with M
    soups bench dist --json                            # 2 gloo processes vs 1: weight/lambda diffs, step time
    soups bench decode --json                          # CTC prefix beam search speed, without and with an LM
    soups bench data --padding configs/demo.yaml --skip-throughput --json   # padding of the joint encoder pass
    soups bench data --prefetch configs/demo.yaml --skip-throughput --json  # data time in the step vs read ahead
    soups bench data --streams EXP/config.yaml --skip-throughput --json     # cuts in memory vs read lazily

Each benchmark registers itself in :data:`BENCHES` (``name -> register function``).
"""

from __future__ import annotations

import argparse
import json


def _register_data(bsub) -> None:
    p = bsub.add_parser("data", help="data pipeline: extraction/batching throughput, start-up on a large manifest")
    p.add_argument("--manifest-size", type=int, default=0,
                   help="also measure start-up on a manifest of N synthetic cut records (0: skip; paper scale: "
                        "300000)")
    p.add_argument("--size", choices=["tiny", "demo", "small", "medium"], default="tiny",
                   help="built-in corpus size for the throughput part (English only; default: tiny)")
    p.add_argument("--threads", type=int, default=2, help="feature extraction threads (default: 2)")
    p.add_argument("--batch-cuts", type=int, default=16, help="utterances per batch (default: 16)")
    p.add_argument("--work", default="runs/bench-data", help="working folder (corpus and manifests are reused)")
    p.add_argument("--skip-throughput", action="store_true", help="only the start-up part")
    p.add_argument("--padding", metavar="CONFIG", default=None,
                   help="also: padding share of the joint encoder pass with this experiment config's streams")
    p.add_argument("--padding-steps", type=int, default=600, help="steps drawn for --padding (default: 600)")
    p.add_argument("--prefetch", metavar="CONFIG", default=None,
                   help="also: the training step's data time with batches prepared in the step vs one step ahead "
                        "(data.prefetch 0 vs 1) with this experiment config (its corpus must be prepared)")
    p.add_argument("--prefetch-steps", type=_positive_int, default=30, help="timed steps per run (default: 30)")
    p.add_argument("--prefetch-repeats", type=_positive_int, default=3,
                   help="rounds of the two runs, alternating order (default: 3)")
    p.add_argument("--prefetch-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for --prefetch (repeatable), e.g. train.threads=1")
    p.add_argument("--streams", metavar="CONFIG", default=None,
                   help="also: data seconds per step of this experiment config's streams, cuts kept in memory vs "
                        "read lazily vs features decoded at every draw (epoch restarts included; its corpus "
                        "must be prepared)")
    p.add_argument("--streams-steps", type=_positive_int, default=100, help="steps drawn per run (default: 100)")
    p.add_argument("--streams-repeats", type=_positive_int, default=2, help="alternating rounds (default: 2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_data)


def _positive_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected one positive integer, got {text!r}")
    return value


def _register_moo(bsub) -> None:
    p = bsub.add_parser("moo", help="gradient engine modes: step time and peak memory as ratios to linear")
    p.add_argument("--model", choices=["tiny", "mid", "both", "hf"], default="both",
                   help="tiny preset, mid (tiny with d_model 256, 6 blocks), both (default), or hf: a transformers "
                        "backbone (--hf-path; default a random Wav2Vec2 of mid's size)")
    p.add_argument("--hf-path", default=None, metavar="DIR",
                   help="with --model hf: a save_pretrained directory or cached hub id (no SSL objective)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per mode; the median is reported (default: 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before timing (default: 1, at least 1)")
    p.add_argument("--growth", action="store_true", help="also cost growth with M = 3..43 objectives")
    p.add_argument("--growth-m", type=_positive_ints, default=None, metavar="M,M,...",
                   help="the growth curve's numbers of objectives (default: 3,8,...,43)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: 1)")
    p.add_argument("--max-step-s", type=float, default=60.0,
                   help="growth: skip faithful MoDo once its predicted step time exceeds this (default: 60)")
    p.add_argument("--quick", action="store_true",
                   help="tiny model (or --model hf), 2 timed steps, small batches, growth M = 3, 8 only (for tests)")
    p.add_argument("--modes", default=None, metavar="MODE,MODE,...",
                   help="a subset of the modes (linear, the ratios' base, is always run; default: all)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_moo)


def _register_dist(bsub) -> None:
    p = bsub.add_parser("dist", help="distributed training: 2 gloo processes vs 1 for every mode and parallelism")
    p.add_argument("--corpus", default=None,
                   help="prepared corpus folder with features (default: a tiny en/fr/de corpus built in a temp dir)")
    p.add_argument("--steps", type=int, default=4, help="training steps per run (default: 4)")
    p.add_argument("--precision", choices=["float32", "float64"], default="float64",
                   help="float64 isolates the algorithm from rounding (default: float64)")
    p.add_argument("--json", action="store_true", help="print one JSON object on one line")
    p.set_defaults(func=run_dist)


def _register_decode(bsub) -> None:
    p = bsub.add_parser("decode", help="CTC prefix beam search speed, without and with an n-gram LM")
    p.add_argument("--frames", type=_positive_int, default=300, help="frames per utterance (default: 300)")
    p.add_argument("--utterances", type=_positive_int, default=5, help="utterances per setting (default: 5)")
    p.add_argument("--vocabs", type=_positive_ints, default=(64, 500), metavar="V,V,...",
                   help="vocabulary sizes (default: 64,500)")
    p.add_argument("--beams", type=_positive_ints, default=(8, 32), metavar="B,B,...", help="default: 8,32")
    p.add_argument("--topk", type=_positive_int, default=8, help="symbols per frame that may extend a prefix (default: 8)")
    p.add_argument("--workers", type=_positive_int, default=1, help="search processes (default: 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_decode)


# name -> function(bench_subparsers) adding that benchmark's parser
BENCHES = {"data": _register_data, "moo": _register_moo, "dist": _register_dist, "decode": _register_decode}


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
    if result.get("padding"):
        p = result["padding"]
        lines.append(f"joint-batch utterance share over {p['steps']} steps ({p['config']}): synchronised streams "
                     f"{p['synchronised_mean']} {p['synchronised']}, own epochs {p['own_epochs_mean']} "
                     f"{p['own_epochs']}")
    if result.get("prefetch"):
        p = result["prefetch"]
        lines.append(f"data time per step ({p['config']}, {p['threads']} threads; auto depth {p['auto_depth']}): "
                     f"in the step {p['inline']['data_s'] * 1000:.1f} ms ({100 * p['inline']['data_share']:.2f} %), "
                     f"read ahead {p['ahead']['data_s'] * 1000:.1f} ms ({100 * p['ahead']['data_share']:.2f} %); "
                     f"wall per step ahead / in the step {p['wall_ratio']}")
    if result.get("streams"):
        p = result["streams"]
        lines.append(f"data time per step ({p['config']}, epochs of {p['epoch_batches']} steps): in memory "
                     f"{p['in_memory']['mean_s'] * 1000:.1f} ms, read lazily {p['lazy']['mean_s'] * 1000:.1f} ms "
                     f"(x{p['mean_ratio']}), features decoded at every draw "
                     f"{p['no_feature_cache']['mean_s'] * 1000:.1f} ms (x{p['feature_cache_ratio']}); "
                     f"same batches: {p['same_batches']}")
    return "\n".join(lines)


def run_data(args) -> int:
    from soups.bench.data import run_data_bench

    result = run_data_bench(args.work, args.manifest_size, args.size, args.threads, args.batch_cuts,
                            args.skip_throughput)
    if args.padding:
        from soups.bench.padding import bench_padding

        result["padding"] = bench_padding(args.padding, args.padding_steps, min(100, args.padding_steps))
    if args.prefetch:
        from soups.bench.prefetch import bench_prefetch

        result["prefetch"] = bench_prefetch(args.prefetch, args.prefetch_steps, repeats=args.prefetch_repeats,
                                            overrides=tuple(args.prefetch_set))
    if args.streams:
        from soups.bench.streams import bench_streams

        result["streams"] = bench_streams(args.streams, args.streams_steps, args.streams_repeats)
    print(json.dumps(result, ensure_ascii=False) if args.json else _summary_data(result))
    return 0


def run_moo(args) -> int:
    import sys

    from soups.bench.moo import run_moo_bench, summary

    from soups.bench.moo import BENCH_MODES
    from soups.errors import ConfigError

    models = ["tiny", "mid"] if args.model == "both" else [args.model]
    modes = None
    if args.modes:
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        unknown = [m for m in modes if m not in BENCH_MODES]
        if unknown:
            raise ConfigError("--modes", f"unknown mode(s) {unknown}", choices=BENCH_MODES)
    result = run_moo_bench(models, args.steps, max(1, args.warmup), args.growth or bool(args.growth_m), args.device,
                           args.quick, args.threads, args.max_step_s, growth_m=args.growth_m,
                           log=lambda msg: print(msg, file=sys.stderr, flush=True), modes=modes,
                           hf_path=args.hf_path)
    print(json.dumps(result, ensure_ascii=False) if args.json else summary(result))
    return 0


def run_decode(args) -> int:
    from soups.bench.decode import bench_decode, summary

    result = bench_decode(args.frames, args.utterances, args.vocabs, args.beams, args.topk,
                          workers=args.workers)
    print(json.dumps(result) if args.json else summary(result))
    return 0


def run_dist(args) -> int:
    from soups.bench.dist import main as dist_main

    return dist_main(args)
