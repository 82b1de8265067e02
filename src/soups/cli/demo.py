"""``soups demo`` (what ``make demo`` runs): build the small built-in corpus if missing, train the demo
model on 10 objectives, evaluate it on the built-in test set, print the table and where the logs are.

    soups demo --config configs/demo.yaml --corpus data/synthetic-small --out runs/demo

A finished experiment is only re-evaluated; an interrupted one is resumed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="prepare the built-in corpus, train and evaluate the demo model")
    p.add_argument("--config", default="configs/demo.yaml")
    p.add_argument("--corpus", default="data/synthetic-small", help="prepared data directory (built if missing)")
    p.add_argument("--size", default="small", choices=["tiny", "small", "medium"])
    p.add_argument("--seed", type=int, default=0, help="corpus seed")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=run)


def _stage(message: str) -> float:
    print(f"\n== {message}", flush=True)
    return time.time()


def run(args) -> int:
    from soups.data.feature_store import compute_features
    from soups.data.prepare import prepare_synthetic
    from soups.data.stats import data_stats, format_stats
    from soups.eval.experiment import evaluate_experiment
    from soups.eval.report import markdown_table
    from soups.train.checkpoint import load_checkpoint
    from soups.train.config import load_config
    from soups.train.distributed import launch

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
        summary = launch(cfg, exp, resume=bool(latest))
        print(json.dumps({"steps": summary["step"], "minutes": round(summary["seconds"] / 60, 1),
                          "skipped_steps": summary["skipped_steps"], "data_skips": summary["skips"]["by_reason"]}))
    print(f"training stage: {time.time() - t0:.0f} s")

    t0 = _stage("3/3 evaluation on the built-in test set")
    results = evaluate_experiment(exp, "test")
    print(markdown_table(results, title=f"soups demo — {cfg.model.preset}, test set"))
    if "signature" in results:
        print(f"\nBLEU signature: {results['signature']['bleu']}")
    print(f"evaluation: {time.time() - t0:.0f} s; total {time.time() - t_all:.0f} s")
    print(f"hypotheses/references: {results['out_dir']}\nTensorBoard: tensorboard --logdir {exp / 'tensorboard'}")
    return 0
