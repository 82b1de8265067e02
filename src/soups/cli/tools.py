"""Smaller commands: ``soups average``, ``soups transcribe``, ``soups export``, ``soups features``.

Examples::

    soups average runs/demo --last 3            # -> runs/demo/checkpoints/averaged.pt
    soups eval runs/demo --checkpoint averaged
    soups transcribe runs/demo --lang fr --task st clip.wav
    soups export runs/xlsr --out models/xlsr      # a transformers backbone + heads, reloadable by eval/transcribe
    soups features data/synthetic-small         # precompute fbank for every manifest
"""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("average", help="average the model weights of the last N checkpoints")
    p.add_argument("exp")
    p.add_argument("--last", type=int, default=3)
    p.set_defaults(func=run_average)

    p = sub.add_parser("transcribe", help="transcribe (asr) or translate to English (st) audio files")
    p.add_argument("exp")
    p.add_argument("--lang", required=True, help="the language spoken in the files")
    p.add_argument("--task", choices=["asr", "st"], default="asr")
    p.add_argument("--beam", type=int, default=None)
    p.add_argument("files", nargs="+")
    p.set_defaults(func=run_transcribe)

    p = sub.add_parser("export", help="write a transformers-backbone model (save_pretrained) with its heads")
    p.add_argument("exp")
    p.add_argument("--out", required=True, help="a new directory")
    p.add_argument("--checkpoint", default="best", help="best | latest | averaged | a checkpoint path")
    p.set_defaults(func=run_export)

    p = sub.add_parser("features", help="precompute 80-dim fbank features for a prepared data directory")
    p.add_argument("data_dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--force", action="store_true", help="recompute even when up to date")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable audio file")
    p.set_defaults(func=run_features)


def run_average(args) -> int:
    from pathlib import Path

    from soups.errors import CheckpointError
    from soups.train.checkpoint import average_checkpoints, save_checkpoint

    ckpts = sorted((Path(args.exp) / "checkpoints").glob("ckpt-*.pt"))
    if len(ckpts) < 1 or args.last < 1:
        raise CheckpointError(f"{args.exp}/checkpoints: no checkpoint to average")
    chosen = ckpts[-args.last:]
    out = Path(args.exp) / "checkpoints" / "averaged.pt"
    save_checkpoint(out, {"model": average_checkpoints(chosen), "averaged_from": [p.name for p in chosen]})
    print(f"averaged {len(chosen)} checkpoints ({', '.join(p.name for p in chosen)}) -> {out}")
    return 0


def run_transcribe(args) -> int:
    from soups.eval.transcribe import transcribe

    for f, text in zip(args.files, transcribe(args.exp, args.lang, args.task, args.files, args.beam)):
        print(f"{f}\t{text}")
    return 0


def run_export(args) -> int:
    from soups.eval.export import export_experiment

    print(json.dumps(export_experiment(args.exp, args.out, args.checkpoint)))
    return 0


def run_features(args) -> int:
    from soups.data.feature_store import compute_features

    print(json.dumps(compute_features(args.data_dir, args.threads, args.strict, args.force)))
    return 0
