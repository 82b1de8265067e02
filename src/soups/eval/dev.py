"""Dev evaluation while training: greedy decoding of ``data.dev_utterances`` per language of the dev split,
and the score that picks ``best.pt``. The trainer receives it as ``run_training(..., dev_eval=evaluate_dev)``
(training does not import evaluation: data flows train -> eval).

    >>> from soups.train.loop import run_training                         # doctest: +SKIP
    >>> run_training(cfg, "runs/exp", dev_eval=evaluate_dev)            # doctest: +SKIP
"""

from __future__ import annotations

from soups.eval.evaluate import DecodeOptions, evaluate, selection_score


def evaluate_dev(ctx) -> dict:
    """``evaluate``'s result on the dev split for a :class:`soups.train.step.TrainContext`, plus ``score``
    (lower is better: :func:`soups.eval.evaluate.selection_score`)."""
    cfg = ctx.cfg
    opts = DecodeOptions(ctc_beam=1, decoder_beam=1, max_len_ratio=cfg.eval.max_len_ratio,
                         batch_cuts=cfg.eval.batch_cuts)
    sources = {lang: cfg.data.sources(lang, "dev") for lang in cfg.supervised_langs}
    result = evaluate(ctx.model, sources, ctx.tokenizers, ctx.cmvn, cfg.data.dev_split, opts,
                      ctx.exp_dir / "dev", cfg.data.dev_utterances, ctx.device, ctx.autocast)
    return dict(result, score=selection_score(result))
