#!/usr/bin/env python
"""How much translation can be learnt from N sentence presentations when the source is *text*?

A reference for the speech translation objectives of a run: the same decoder head as the `tiny` preset (one
Transformer decoder per X->En pair, d=144, 1 layer, tied embeddings, label smoothing 0.1), fed by a 4-layer
Transformer encoder over the source transcript's characters instead of speech, trained on the same pairs with
the same batch per pair, learning rate, warm-up and cosine schedule, and scored with sacrebleu on the test set
(greedy decoding). It separates learning to translate from learning to listen: how many presentations the
translation itself needs on a corpus. (It is not a strict ceiling: in a multi-task run the ASR objectives
also train the shared encoder.)

    # the demo's budget: 1000 steps of 6 sentences per pair (BLEU per pair every 250 steps, JSON lines)
    python scripts/text_mt_reference.py --corpus data/synthetic-small --steps 1000 --eval-every 250
    # what 8x the presentations buys (about 35 CPU minutes on one thread)
    python scripts/text_mt_reference.py --corpus data/synthetic-small --steps 8000 --eval-every 1000

Each evaluation prints ``{"step", "presentations_per_pair", "loss", "bleu": {lang: BLEU}, "average", "seconds"}``
(``loss``: the mean training loss per pair since the previous evaluation).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time

import torch
from torch import Tensor, nn

from soups.data.manifests import load_cuts
from soups.data.tokenizer import BOS, EOS, PAD, CharTokenizer, SentencePieceTokenizer
from soups.errors import SoupsError
from soups.eval.metrics import score_task
from soups.model import greedy_decode
from soups.model.decoder import TransformerDecoderHead, make_decoder_io, sinusoidal_positions
from soups.objectives import pad_tokens

def read_pairs(corpus: str, lang: str, split: str, limit: int | None = None) -> list[tuple[str, str]]:
    """(source transcript, English translation) of each cut of ``cuts_<lang>_<split>.jsonl.gz``."""
    pairs = []
    for cut in load_cuts(f"{corpus}/cuts_{lang}_{split}.jsonl.gz"):
        sup = cut.supervisions[0]
        pairs.append((sup.text.lower(), (sup.custom or {}).get("translation", "")))
        if limit is not None and len(pairs) == limit:
            break
    if not pairs or not all(t for _, t in pairs):
        sys.exit(f"error: {corpus}/cuts_{lang}_{split}.jsonl.gz has no cuts with translations")
    return pairs


class TextEncoder(nn.Module):
    """Characters ``(B, S)`` -> ``(B, S, D)``: embedding + sinusoidal positions + pre-norm Transformer."""

    def __init__(self, vocab_size: int, d_model: int = 144, layers: int = 4, heads: int = 4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, chars: Tensor, mask: Tensor) -> Tensor:
        pos = sinusoidal_positions(0, chars.shape[1], self.embed.embedding_dim, chars.device)
        return self.encoder(self.embed(chars) + pos, src_key_padding_mask=~mask)


def bleu(encoder, decoders, src_tok, tgt_tok, test: dict, batch: int = 50) -> dict[str, float]:
    encoder.eval()
    scores = {}
    with torch.no_grad():
        for lang, pairs in test.items():
            hyps = []
            for i in range(0, len(pairs), batch):
                chars, lengths = pad_tokens([src_tok.encode(s) for s, _ in pairs[i:i + batch]], "cpu")
                mask = torch.arange(chars.shape[1])[None] < lengths[:, None]
                ids = greedy_decode(decoders[lang], encoder(chars, mask), mask, BOS, EOS, max_len=100)
                hyps += [tgt_tok.decode(h) for h in ids]
            scores[lang] = round(score_task("st", lang, [t for _, t in pairs], hyps)["value"], 2)
    encoder.train()
    return scores


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", required=True, help="a prepared corpus (cuts_<lang>_<split>.jsonl.gz)")
    p.add_argument("--langs", default="fr,de,es,ca", help="source languages, comma-separated")
    p.add_argument("--steps", type=positive, default=1000)
    p.add_argument("--batch", type=positive, default=6, help="sentences per pair and step")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=positive, default=100)
    p.add_argument("--eval-every", type=positive, default=250)
    p.add_argument("--test-utterances", type=positive, default=None, help="per pair (default: all)")
    p.add_argument("--st-vocab", type=positive, default=512, help="SentencePiece pieces of the English side")
    p.add_argument("--threads", type=positive, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    langs = args.langs.split(",")
    train = {lang: read_pairs(args.corpus, lang, "train") for lang in langs}
    test = {lang: read_pairs(args.corpus, lang, "test", args.test_utterances) for lang in langs}
    short = min(train, key=lambda lang: len(train[lang]))
    if len(train[short]) < args.batch:
        p.error(f"--batch {args.batch} exceeds the {len(train[short])} training pairs of {short}")
    src_tok = CharTokenizer.train([s for pairs in train.values() for s, _ in pairs], vocab_size=256)
    tgt_tok = SentencePieceTokenizer.train([t for pairs in train.values() for _, t in pairs], args.st_vocab)
    encoder = TextEncoder(src_tok.vocab_size)
    decoders = nn.ModuleDict({lang: TransformerDecoderHead(144, tgt_tok.vocab_size, num_layers=1, num_heads=4,
                                                           ff_dim=288, dropout=0.0, pad_id=PAD, bos_id=BOS,
                                                           eos_id=EOS) for lang in langs})
    params = [*encoder.parameters(), *decoders.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr)
    schedule = lambda s: min((s + 1) / args.warmup, 0.5 * (1 + math.cos(math.pi * s / args.steps)))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    t0, losses = time.time(), []
    for step in range(1, args.steps + 1):
        loss = torch.zeros(())
        for lang in langs:
            pairs = rng.sample(train[lang], args.batch)
            chars, lengths = pad_tokens([src_tok.encode(s) for s, _ in pairs], "cpu")
            mask = torch.arange(chars.shape[1])[None] < lengths[:, None]
            targets, target_lengths = pad_tokens([tgt_tok.encode(t) for _, t in pairs], "cpu")
            tokens_in, tokens_out, out_lengths = make_decoder_io(targets, target_lengths, BOS, EOS, PAD)
            loss = loss + decoders[lang].loss(encoder(chars, mask), mask, tokens_in, tokens_out, out_lengths)
        opt.zero_grad()
        (loss / len(langs)).backward()
        losses.append(loss.item() / len(langs))
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            scores = bleu(encoder, decoders, src_tok, tgt_tok, test)
            print(json.dumps({"step": step, "presentations_per_pair": step * args.batch,
                              "loss": round(sum(losses) / len(losses), 3), "bleu": scores,
                              "average": round(sum(scores.values()) / len(scores), 2),
                              "seconds": round(time.time() - t0)}), flush=True)
            losses = []
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SoupsError as err:  # bad input: the file and what is wrong, no traceback
        sys.exit(f"error: {err}")
