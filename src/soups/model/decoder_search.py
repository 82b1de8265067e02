"""Greedy and beam search for autoregressive heads, batched over utterances.

A head usable here implements the incremental protocol of
:class:`soups.model.decoder.TransformerDecoderHead`:

* ``head.init_state(enc_out (B, T, D), enc_mask (B, T)) -> state``
* ``head.step(tokens (N,), state) -> (log_probs (N, V), state)``
* ``state.select(index (N',)) -> state`` (reorder / expand hypotheses)

Returned sequences exclude ``bos`` and ``eos``. A hypothesis that reaches ``max_len`` tokens
without ``eos`` is returned as is.

Example:
    >>> import torch
    >>> from soups.model.decoder import TransformerDecoderHead
    >>> head = TransformerDecoderHead(16, 10, num_layers=1, num_heads=2).eval()
    >>> enc, mask = torch.randn(2, 5, 16), torch.ones(2, 5, dtype=torch.bool)
    >>> g = greedy_decode(head, enc, mask, bos=1, eos=2, max_len=6)
    >>> g == beam_search(head, enc, mask, bos=1, eos=2, beam=1, max_len=6)
    True
"""

from __future__ import annotations

import torch
from torch import Tensor


@torch.no_grad()
def greedy_decode(head, enc_out: Tensor, enc_mask: Tensor, bos: int, eos: int, max_len: int) -> list[list[int]]:
    """Arg-max decoding with the KV cache; one token sequence per utterance."""
    b = enc_out.shape[0]
    state = head.init_state(enc_out, enc_mask)
    tokens = torch.full((b,), bos, dtype=torch.long, device=enc_out.device)
    finished = torch.zeros(b, dtype=torch.bool, device=enc_out.device)
    out: list[Tensor] = []
    for _ in range(max_len):
        logp, state = head.step(tokens, state)
        tokens = logp.argmax(dim=-1)
        out.append(tokens.masked_fill(finished, eos))
        finished |= tokens == eos
        if bool(finished.all()):
            break
    seqs = torch.stack(out, dim=1).tolist() if out else [[] for _ in range(b)]
    return [s[: s.index(eos)] if eos in s else s for s in seqs]


def _normalized(score: float, length: int, length_penalty: float) -> float:
    """Length-normalised score ``score / length ** length_penalty`` (``length`` counts eos)."""
    return score / max(length, 1) ** length_penalty


@torch.no_grad()
def beam_search(
    head, enc_out: Tensor, enc_mask: Tensor, bos: int, eos: int, beam: int = 4, max_len: int = 100,
    length_penalty: float = 1.0,
) -> list[list[int]]:
    """Beam search; per utterance the finished hypothesis with the best ``logP / len**length_penalty``.

    Fairseq-style bookkeeping: each step looks at the best ``2·beam`` extensions per utterance;
    those ending in ``eos`` that rank within the top ``beam`` are finished, the best ``beam``
    non-eos extensions continue. An utterance stops once it has ``beam`` finished hypotheses;
    at ``max_len`` its live hypotheses are finished without eos. ``length_penalty=0`` ranks by raw
    log-probability. With ``beam=1`` this is exactly greedy decoding.
    """
    b, k, dev = enc_out.shape[0], beam, enc_out.device
    state = head.init_state(enc_out, enc_mask).select(torch.arange(b, device=dev).repeat_interleave(k))
    tokens = torch.full((b * k,), bos, dtype=torch.long, device=dev)
    scores = torch.full((b, k), float("-inf"), device=dev)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    prefixes = torch.zeros(b * k, 0, dtype=torch.long, device=dev)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(b)]
    done = [False] * b
    for t in range(max_len):
        logp, state = head.step(tokens, state)
        v = logp.shape[-1]
        cand = (scores.reshape(-1, 1) + logp).reshape(b, k * v)
        top_s, top_i = cand.topk(min(2 * k, k * v), dim=1)  # (B, 2K)
        src_beam, tok = top_i // v, top_i % v
        is_eos = tok == eos
        _collect_finished(finished, done, top_s, src_beam, tok, is_eos, prefixes, k, length_penalty, t)
        # best K non-eos extensions continue (there are >= K of them: each beam adds at most one eos)
        keep_s, keep_j = top_s.masked_fill(is_eos, float("-inf")).topk(k, dim=1)
        rows = (torch.arange(b, device=dev)[:, None] * k + src_beam.gather(1, keep_j)).reshape(-1)
        tokens = tok.gather(1, keep_j).reshape(-1)
        prefixes = torch.cat([prefixes.index_select(0, rows), tokens[:, None]], dim=1)
        scores = keep_s.masked_fill(torch.tensor(done, device=dev)[:, None], float("-inf"))
        state = state.select(rows)
        if all(done):
            break
    for i in range(b):  # max_len reached: live hypotheses count as finished
        if not done[i]:
            for j in range(k):
                if scores[i, j].item() > float("-inf"):
                    seq = prefixes[i * k + j].tolist()
                    finished[i].append((_normalized(scores[i, j].item(), len(seq), length_penalty), seq))
    return [max(f, key=lambda x: x[0])[1] if f else [] for f in finished]


def _collect_finished(finished, done, top_s, src_beam, tok, is_eos, prefixes, k, length_penalty, t) -> None:
    """Move eos-extensions ranked within the top ``k`` into ``finished`` (Python loop over few items)."""
    hits = (is_eos[:, :k] & torch.isfinite(top_s[:, :k])).nonzero().tolist()
    for i, r in hits:
        if done[i]:
            continue
        seq = prefixes[i * k + int(src_beam[i, r])].tolist()
        finished[i].append((_normalized(top_s[i, r].item(), t + 1, length_penalty), seq))
        if len(finished[i]) >= k:
            done[i] = True


@torch.no_grad()
def score_sequences(head, enc_out: Tensor, enc_mask: Tensor, seqs: list[list[int]], bos: int, eos: int,
                    add_eos: bool = True) -> Tensor:
    """Model log-probability ``(B,)`` of each sequence (``+ eos`` when ``add_eos``), teacher-forced
    through the incremental protocol, so it works for any head the searches accept."""
    b, dev = enc_out.shape[0], enc_out.device
    full = [s + [eos] if add_eos else list(s) for s in seqs]
    u = max((len(s) for s in full), default=0)
    target = torch.full((b, u), eos, dtype=torch.long, device=dev)
    for i, s in enumerate(full):
        target[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    lengths = torch.tensor([len(s) for s in full], device=dev)
    state = head.init_state(enc_out, enc_mask)
    tokens = torch.full((b,), bos, dtype=torch.long, device=dev)
    total = torch.zeros(b, device=dev)
    for t in range(u):
        logp, state = head.step(tokens, state)
        tokens = target[:, t]
        total += torch.where(t < lengths, logp.gather(1, tokens[:, None])[:, 0], torch.zeros_like(total))
    return total
