"""The n-gram LMs fused into CTC beam search at evaluation (``eval.lm``), trained on the experiment's own
transcripts (``EXP/lm/``, written by :func:`soups.train.build.lm_texts` while training starts)."""

from __future__ import annotations

from pathlib import Path

from soups.errors import ConfigError
from soups.eval.ngram_lm import LMFusion, NgramLM, WordLM
from soups.train.build import lm_texts
from soups.train.config import ExperimentConfig


def build_lm_fusions(cfg: ExperimentConfig, exp_dir: Path, tokenizers: dict) -> dict[str, LMFusion]:
    """``{tokenizer key: LMFusion}`` for CTC beam search (``eval.lm``); empty when ``eval.lm.order`` is 0.
    The word n-gram (``eval.lm.word_order``) goes to the character tokenizers with a word-boundary token; a
    SentencePiece tokenizer (e.g. translation targets) gets the token n-gram only. A word n-gram that no
    tokenizer can take is an error."""
    spec = cfg.eval.lm
    if spec.order == 0:
        return {}
    fusions, with_words = {}, 0
    for key, texts in lm_texts(cfg, exp_dir).items():
        tok, words = tokenizers[key], None
        boundary = getattr(tok, "boundary_id", None)
        if spec.word_order > 0 and boundary is not None:
            words, with_words = WordLM(texts, spec.word_order, spec.word_weight, boundary, tok.decode), with_words + 1
        elif spec.word_order > 0 and tok.kind == "char":
            raise ConfigError("eval.lm.word_order", f"the word n-gram needs a tokenizer with a word-boundary "
                                                    f"token; {key!r} ({tok.kind!r}) has none (set it to 0)")
        lm = NgramLM.train((tok.encode(t) for t in texts), spec.order, tok.vocab_size)
        fusions[key] = LMFusion(lm, spec.weight, spec.bonus, words)
    if spec.word_order > 0 and not with_words:
        raise ConfigError("eval.lm.word_order", "no CTC tokenizer has word boundaries for the word n-gram "
                                                "(character tokenizers do; set it to 0)")
    return fusions
