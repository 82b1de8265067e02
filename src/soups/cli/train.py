"""``soups train CONFIG --out EXP [--resume] [key=value …]``: train a multi-task model.

Examples::

    soups train configs/demo.yaml --out runs/demo
    soups train configs/demo.yaml --out runs/demo train.max_steps=200 moo.mode=fast
    soups train configs/demo.yaml --out runs/demo --resume
    torchrun --standalone --nproc_per_node=2 -m soups train configs/demo.yaml --out runs/ddp
"""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("train", help="train a multi-task model from a YAML config")
    p.add_argument("config", help="YAML experiment config (see configs/)")
    p.add_argument("--out", required=True, help="experiment directory")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="stop after N more steps (a time-sliced run; resume later with --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.max_steps=100")
    p.set_defaults(func=run)


def run(args) -> int:
    from soups.eval.dev import evaluate_dev
    from soups.train.config import load_config
    from soups.train.loop import launch

    cfg = load_config(args.config, args.overrides)
    summary = launch(cfg, args.out, resume=args.resume, stop_after=args.stop_after, progress=not args.no_progress,
                     dev_eval=evaluate_dev)
    if summary is not None:
        dev = summary.get("dev")
        print(json.dumps({"step": summary["step"], "seconds": round(summary["seconds"], 1),
                          "skipped_steps": summary["skipped_steps"], "skipped_items": summary["skipped_items"],
                          "data_skips": summary["skips"]["by_reason"],
                          "dev_average": dev["average"] if dev else None}))
    return 0
