"""``soups train CONFIG --out EXP [--resume] [key=value …]``: train a multi-task model.

Examples::

    soups train configs/demo.yaml --out runs/demo
    soups train configs/demo.yaml --out runs/demo train.max_steps=200 moo.mode=fast
    soups train configs/demo.yaml --out runs/demo --resume
    torchrun --standalone --nproc_per_node=2 -m soups train configs/demo.yaml --out runs/ddp
"""

from __future__ import annotations

import json
import logging
import os
import sys


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
    from soups.train.distributed import world
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
    if world()[1] > 1:
        end_rank()
    return 0


def end_rank() -> None:
    """End a finished ``torchrun`` rank with ``os._exit(0)``, skipping the interpreter's teardown.

    Everything the rank writes is closed by then (checkpoints, logs, TensorBoard) and the process group is
    destroyed; what the teardown still runs is C++ static destruction and the interpreter's finalisation, where
    a gloo rank occasionally aborted after finishing ("terminate called without an active exception", SIGABRT:
    twice in the test suite's 2-rank jobs, never in 130 jobs run back to back, idle or beside a busy core; a
    known class of c10d teardown race, pytorch PR 179291). ``torchrun`` then reports the finished job as failed.
    So the rank flushes its streams and leaves without that teardown."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
