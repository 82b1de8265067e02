"""``soups bench decode``: speed of the CTC prefix beam search (pure Python), without and with an n-gram LM
fused in — what ``soups eval`` spends its time on — in one process or spread over forked workers.

    soups bench decode --json                                  # T=300 frames, V in {64, 500}, beams 8 and 32
    soups bench decode --frames 100 --utterances 2 --json      # quick
    soups bench decode --utterances 20 --workers 2 --json      # two processes (eval.ctc_workers)

Log-probabilities are random (a fixed seed; log-softmax of Gaussian logits), so every frame offers many
plausible symbols: a worst case for the search, compared with a trained model's peaked posteriors. The LM is a
character 7-gram trained on random sequences over the same vocabulary (``soups.eval.ngram_lm``).

>>> bench_decode(frames=50, utterances=1, vocabs=(64,), beams=(8,))["runs"][0]["utt_per_s"] > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

import time


def _time_search(lps: list, beam: int, topk: int, fusion, workers: int) -> float:
    from soups.eval.ctc_decode import ctc_prefix_beam_search

    t0 = time.perf_counter()
    ctc_prefix_beam_search(lps, beam=beam, topk=topk, fusion=fusion, workers=workers)
    return time.perf_counter() - t0


def bench_decode(frames: int = 300, utterances: int = 5, vocabs: tuple[int, ...] = (64, 500),
                 beams: tuple[int, ...] = (8, 32), topk: int = 8, seed: int = 0, workers: int = 1) -> dict:
    """Seconds per utterance and frames per second for each (vocabulary, beam, LM or not); with ``workers``
    > 1 the utterances are searched in that many processes (wall-clock time, pool start included)."""
    import torch

    from soups.eval.ngram_lm import LMFusion, NgramLM

    gen = torch.Generator().manual_seed(seed)
    runs = []
    for vocab in vocabs:
        lps = [torch.randn(frames, vocab, generator=gen).log_softmax(-1) for _ in range(utterances)]
        texts = torch.randint(1, vocab, (200, 30), generator=gen).tolist()
        fusion = LMFusion(NgramLM.train(texts, 7, vocab), weight=0.6, bonus=3.0)
        for beam in beams:
            for lm in (False, True):
                seconds = _time_search(lps, beam, topk, fusion if lm else None, workers)
                runs.append({"vocab": vocab, "beam": beam, "topk": topk, "lm": lm,
                             "s_per_utt": round(seconds / utterances, 4),
                             "utt_per_s": round(utterances / seconds, 2),
                             "frames_per_s": round(utterances * frames / seconds)})
    return {"frames": frames, "utterances": utterances, "workers": workers, "runs": runs}


def summary(result: dict) -> str:
    lines = [f"CTC prefix beam search, {result['frames']} frames x {result['utterances']} utterances (random "
             f"log-probs), {result['workers']} process(es):"]
    for r in result["runs"]:
        lines.append(f"  V={r['vocab']:<4} beam={r['beam']:<3} topk={r['topk']} {'LM' if r['lm'] else 'no LM':<5}: "
                     f"{r['s_per_utt']:.4f} s/utt, {r['frames_per_s']} frames/s")
    return "\n".join(lines)
