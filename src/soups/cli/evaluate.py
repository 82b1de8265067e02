"""``soups eval EXP [--split test] [--json]``: decode and score an experiment's model.

Examples::

    soups eval runs/demo                      # the best checkpoint on the test split, table on stdout
    soups eval runs/demo --split dev --checkpoint latest --ctc-beam 8 --json
    soups eval runs/demo --no-lm              # CTC beam search without the config's n-gram LM (eval.lm)
    soups eval runs/demo --split dev eval.lm.order=8 eval.lm.weight=1.0 eval.lm.bonus=2.0   # tune on dev
"""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate an experiment (WER/CER per language, BLEU per X->En pair)")
    p.add_argument("exp", help="experiment directory")
    p.add_argument("overrides", nargs="*", metavar="eval.KEY=VALUE",
                   help="decoding options changed for this run (e.g. eval.lm.weight=0.8 eval.ctc_beam=8)")
    p.add_argument("--split", default="test")
    p.add_argument("--checkpoint", default="best", help="best | latest | averaged | a checkpoint path")
    p.add_argument("--data-dir", default=None, help="prepared data directory (default: the config's data.dir)")
    p.add_argument("--ctc-beam", type=int, default=None, help="CTC prefix beam (1 = greedy; default: config)")
    p.add_argument("--decoder-beam", type=int, default=None, help="decoder beam (1 = greedy; default: config)")
    p.add_argument("--no-lm", action="store_true", help="CTC beam search without the config's n-gram LM (eval.lm)")
    p.add_argument("--max-utterances", type=int, default=None, help="per language (default: all)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from soups.eval.experiment import evaluate_experiment
    from soups.eval.report import markdown_table

    results = evaluate_experiment(args.exp, args.split, args.checkpoint, args.data_dir, args.ctc_beam,
                                  args.decoder_beam, args.max_utterances, lm=not args.no_lm,
                                  overrides=args.overrides)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print(markdown_table(results, title=f"{args.exp} — {args.split}"))
        if "signature" in results:
            print(f"\nBLEU signature: {results['signature']['bleu']}")
        print(f"\nhypotheses and references: {results['out_dir']}")
    return 0
