"""``soups demo`` (what ``make demo`` runs): build the dense built-in corpus if missing, train the demo
model on 10 objectives, evaluate it on the built-in test set (the config's decoding and greedy, side by
side), print the table, draw the dev curves (``EXP/curves.png``) and say where the logs are.

    soups demo --config configs/demo.yaml --corpus data/synthetic-demo --out runs/demo
    soups demo --config configs/demo_small.yaml --corpus data/synthetic-small --size small --out runs/demo-small

A finished experiment is only re-evaluated; an interrupted one is resumed. A run cut by ``train.max_minutes``
is evaluated as it is, and its table says it was cut.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="prepare the built-in corpus, train and evaluate the demo model")
    p.add_argument("--config", default="configs/demo.yaml")
    p.add_argument("--corpus", default="data/synthetic-demo", help="prepared data directory (built if missing)")
    p.add_argument("--size", default="demo", choices=["tiny", "demo", "small", "medium"],
                   help="built-in corpus size (default: demo, the dense-lexicon corpus)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=run)


def _stage(message: str) -> float:
    print(f"\n== {message}", flush=True)
    return time.time()


def busy_cores(seconds: float = 1.0) -> float | None:
    """How many cores other processes kept busy over ``seconds`` (from ``/proc/stat``; None where there is
    none). Called while this process sleeps, so the busy time is everyone else's."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + (values[4] if len(values) > 4 else 0)   # total, idle + iowait
    try:
        t0, idle0 = sample()
        time.sleep(seconds)
        t1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    ticks = max(t1 - t0, 1)
    return (1 - (idle1 - idle0) / ticks) * (os.cpu_count() or 1)


def _warn_if_busy(threads: int | None) -> None:
    busy = busy_cores()
    if busy is not None and busy >= 0.5:
        print(f"note: other processes keep {busy:.1f} core(s) busy: training steps with {threads or 'all'} threads "
              "can take 2-4x longer (measured: 0.45 -> 1.8 s beside one busy core); train.max_minutes then cuts "
              "the run and the table says so (train.threads=1 steps faster on a busy machine)", flush=True)


def run(args) -> int:
    from soups.data.feature_store import compute_features
    from soups.data.prepare import prepare_synthetic
    from soups.data.stats import data_stats, format_stats
    from soups.eval.dev import evaluate_dev
    from soups.eval.experiment import evaluate_experiment
    from soups.eval.report import side_by_side
    from soups.grid.collect import read_log
    from soups.grid.plots import experiment_curves
    from soups.train.checkpoint import load_checkpoint
    from soups.train.config import load_config
    from soups.train.loop import launch

    t_all = time.time()
    cfg = load_config(args.config, [f"data.dir={args.corpus}", *args.overrides])
    langs = sorted({lang for o in cfg.objectives for lang in ([o.lang] if o.lang else o.langs or [])}
                   | set(cfg.supervised_langs))
    t0 = _stage(f"1/3 built-in corpus ({args.size}, seed {args.seed}, languages {','.join(langs)}) in {args.corpus}")
    report = prepare_synthetic(args.corpus, args.size, args.seed, tuple(langs))
    compute_features(args.corpus)
    print(format_stats(data_stats(args.corpus)))
    print(f"{report['summary']}; corpus ready in {time.time() - t0:.0f} s "
          f"({report['corpus']['synthesized_now']} clips synthesized now)")

    t0 = _stage(f"2/3 training {cfg.model.preset} on {len(cfg.objectives)} objectives -> {args.out}")
    exp, latest = Path(args.out), sorted((Path(args.out) / "checkpoints").glob("ckpt-*.pt"))
    done = bool(latest) and int(load_checkpoint(latest[-1])["step"]) >= cfg.train.max_steps
    if done:
        print(f"already trained ({latest[-1].name}); evaluating only (remove {exp} to retrain)")
    else:
        _warn_if_busy(cfg.train.threads)
        summary = launch(cfg, exp, resume=bool(latest), dev_eval=evaluate_dev)
        print(json.dumps({"steps": summary["step"], "minutes": round(summary["seconds"] / 60, 1),
                          "skipped_steps": summary["skipped_steps"], "data_skips": summary["skips"]["by_reason"]}))
    print(f"training stage: {time.time() - t0:.0f} s")

    t0 = _stage("3/3 evaluation on the built-in test set")
    results = evaluate_experiment(exp, "test")
    greedy = evaluate_experiment(exp, "test", ctc_beam=1, decoder_beam=1, lm=False, out_name="test-greedy")
    decoding = "CTC beam search + n-gram LMs" if cfg.eval.lm.order and cfg.eval.ctc_beam > 1 else "config decoding"
    print(side_by_side({decoding: results, "greedy": greedy},
                       title=f"soups demo — {cfg.model.preset}, test set (unseen sentences and voices)"))
    if "signature" in results:
        print(f"\nBLEU signature: {results['signature']['bleu']}")
    curves = experiment_curves(read_log(exp), {n: o["metric"] for n, o in results["objectives"].items()},
                               exp / "curves.png", title=f"soups demo — dev set during training ({exp})")
    print(f"evaluation: {time.time() - t0:.0f} s; total {time.time() - t_all:.0f} s")
    print(f"hypotheses/references: {results['out_dir']} (greedy: {greedy['out_dir']})\n"
          f"dev curves: {curves}\nTensorBoard: tensorboard --logdir {exp / 'tensorboard'}")
    return 0
