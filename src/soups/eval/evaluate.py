"""Decode and score a multi-task model on a split: WER per language (CER for Chinese), BLEU per X→En pair
(sacrebleu, signature kept), gender accuracy; hypothesis and reference files with one utterance per line in
the same order.

Result format (``soups eval EXP --json``)::

    {"objectives": {name: {"task", "language", "metric", "value", "hyp", "ref", "utterances"}},
     "average": {"wer": …, "bleu": …}, "split": "test", "signature": {"bleu": "nrefs:1|…"}}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from soups.data.batch import collate
from soups.data.features import longer_than_window
from soups.data.manifests import load_cuts
from soups.data.text import normalize_asr
from soups.data.tokenizer import BOS, EOS
from soups.eval.ctc_decode import ctc_greedy, ctc_prefix_beam_search
from soups.eval.metrics import score_task
from soups.model import beam_search, greedy_decode
from soups.objectives import CTCObjective, DecoderObjective, GenderObjective, GENDER_LABELS

GENDERS = {v: k for k, v in GENDER_LABELS.items()}


@dataclass
class DecodeOptions:
    ctc_beam: int = 1                # 1 = greedy
    decoder_beam: int = 4            # 1 = greedy
    max_len_ratio: float = 1.5       # decoder: max tokens = ratio × encoder frames (at most 200)
    batch_cuts: int = 32
    ctc_topk: int | None = None      # CTC beam search: symbols per frame (None: the beam)
    fusions: dict = field(default_factory=dict)  # tokenizer key -> LMFusion for CTC beam search (eval.lm)
    ctc_workers: int = 1             # processes searching CTC beams (evaluate: all of an objective's utterances)


def _batches(cuts: list, size: int):
    order = sorted(range(len(cuts)), key=lambda i: cuts[i].duration)  # similar lengths, less padding
    for i in range(0, len(order), size):
        yield order[i:i + size]


def _tokenizer(obj, tokenizers: dict):
    key = f"asr_{obj.lang}" if obj.task == "asr" else "st"
    return key, tokenizers[key]


def _ctc_search(obj, log_probs, lengths, opts: DecodeOptions, tokenizers: dict) -> list[str]:
    """CTC prefix beam search (LM fusion of the objective's tokenizer, if any) -> texts."""
    key, tok = _tokenizer(obj, tokenizers)
    ids = ctc_prefix_beam_search(log_probs, lengths, beam=opts.ctc_beam, topk=opts.ctc_topk,
                                 fusion=opts.fusions.get(key), workers=opts.ctc_workers)
    return [tok.decode(seq) for seq in ids]


def decode_objective(obj, view, opts: DecodeOptions, tokenizers: dict) -> list[str]:
    """Hypotheses of one objective for one batch of encoder outputs."""
    if isinstance(obj, GenderObjective):
        return [GENDERS[int(i)] for i in obj.head(view.out, view.mask).argmax(-1)]
    _, tok = _tokenizer(obj, tokenizers)
    if isinstance(obj, CTCObjective):
        log_probs = obj.head(view.out).cpu()
        if opts.ctc_beam > 1:
            return _ctc_search(obj, log_probs, view.lengths.cpu(), opts, tokenizers)
        ids = ctc_greedy(log_probs, view.lengths.cpu())
    else:
        max_len = min(200, max(8, int(opts.max_len_ratio * int(view.lengths.max()))))
        if opts.decoder_beam > 1:
            ids = beam_search(obj.head, view.out, view.mask, BOS, EOS, beam=opts.decoder_beam, max_len=max_len)
        else:
            ids = greedy_decode(obj.head, view.out, view.mask, BOS, EOS, max_len)
    return [tok.decode(seq) for seq in ids]


def reference(obj, sup) -> str:
    if obj.task == "asr":
        return normalize_asr(sup.text or "", sup.language)
    if obj.task == "st":
        return (sup.custom or {}).get("translation", "")
    return sup.gender or ""


@torch.no_grad()
def evaluate(model, sources: dict[str, list], tokenizers: dict, cmvn, split: str = "test",
             opts: DecodeOptions | None = None, out_dir: Path | None = None, max_utterances: int | None = None,
             device="cpu", autocast=None) -> dict:
    """Decode every supervised objective on its language's evaluation ``sources`` (``{lang: [Source]}``)
    and score it. With several sources for a language (e.g. test-clean and test-other) each is scored on
    its own, as ``<objective>@<split>``."""
    opts = opts or DecodeOptions()
    model.eval()
    per_stream: dict[str, list] = {}
    for obj in model.objectives.values():
        if isinstance(obj, (CTCObjective, DecoderObjective, GenderObjective)):
            per_stream.setdefault(obj.stream, []).append(obj)
    results, t0, too_long = {}, time.time(), {}
    limit = getattr(model.encoder, "max_samples", None)  # Whisper's window
    for stream, objs in per_stream.items():
        for src in sources[stream]:
            cuts = list(load_cuts(src.path))[: max_utterances or None]
            if limit is not None:  # never cut: left out of the scores and counted
                kept = [c for c in cuts if not longer_than_window(c.duration, limit)]
                if len(kept) < len(cuts):
                    too_long[f"{stream}/{src.split}"] = len(cuts) - len(kept)
                cuts = kept
            with progress_bar(len(cuts), f"decoding {stream} {src.split}", "utt") as bar:
                hyps = _decode_cuts(model, stream, objs, cuts, cmvn, opts, tokenizers, device, autocast, bar)
            for obj in objs:
                name = obj.name if len(sources[stream]) == 1 else f"{obj.name}@{src.split}"
                refs = [reference(obj, c.supervisions[0]) for c in cuts]
                results[name] = _score(obj, name, refs, hyps[obj.name], out_dir)
    out = summarize(results, split, time.time() - t0)
    if too_long:
        out["skipped"] = {"too_long_for_backbone": too_long}
    return out


def progress_bar(total: int, desc: str, unit: str):
    """A tqdm bar on an interactive terminal (none in logs, pipes and tests)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, dynamic_ncols=True)


_DEFERRED_VALUES = 1 << 26  # log-probabilities (256 MB in float32) held per objective before searching them


def _decode_cuts(model, stream, objs, cuts, cmvn, opts, tokenizers, device, autocast, bar=None
                 ) -> dict[str, list[str]]:
    hyps = {o.name: [None] * len(cuts) for o in objs}
    # CTC beam searches are deferred and run over many utterances at once, in one pool of opts.ctc_workers
    deferred = {o.name: [] for o in objs if isinstance(o, CTCObjective) and opts.ctc_beam > 1}
    held = dict.fromkeys(deferred, 0)  # log-probabilities deferred per objective

    def search(obj) -> None:
        order, utterances = zip(*deferred[obj.name])
        for i, text in zip(order, _ctc_search(obj, list(utterances), None, opts, tokenizers)):
            hyps[obj.name][i] = text
        deferred[obj.name], held[obj.name] = [], 0

    for idx in _batches(cuts, opts.batch_cuts):
        if bar is not None:
            bar.update(len(idx))
        batch = collate(stream, [cuts[i] for i in idx], cmvn).to(device, next(model.parameters()).dtype)
        with autocast() if autocast else torch.autocast("cpu", enabled=False):
            views = model.encode({stream: batch})
        view = views[stream].tap()
        for obj in objs:
            if obj.name not in deferred:
                for i, text in zip(idx, decode_objective(obj, view, opts, tokenizers)):
                    hyps[obj.name][i] = text
                continue
            log_probs, lengths = obj.head(view.out).cpu(), view.lengths.tolist()  # as decode_objective does
            deferred[obj.name] += [(i, log_probs[b, :lengths[b]].clone()) for b, i in enumerate(idx)]
            held[obj.name] += sum(lengths) * log_probs.shape[-1]
            if held[obj.name] > _DEFERRED_VALUES:
                search(obj)
    for obj in objs:
        if deferred.get(obj.name):
            search(obj)
    return hyps


def _score(obj, name: str, refs: list[str], hyps: list[str], out_dir: Path | None) -> dict:
    if isinstance(obj, GenderObjective):
        value = 100.0 * sum(r == h for r, h in zip(refs, hyps) if r) / max(1, sum(1 for r in refs if r))
        entry = {"task": obj.task, "language": obj.lang, "metric": "accuracy", "value": value}
    else:
        entry = {"task": obj.task, "language": obj.lang, **score_task(obj.task, obj.lang, refs, hyps)}
    entry["utterances"] = len(refs)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind, lines in (("hyp", hyps), ("ref", refs)):
            path = out_dir / f"{name}.{kind}.txt"
            path.write_text("".join(" ".join(line.split()) + "\n" for line in lines), encoding="utf-8")
            entry[kind] = str(path)
    return entry


def summarize(results: dict, split: str, seconds: float) -> dict:
    """The result dict with averages: WER over ASR objectives (CER counted for zh), BLEU over X→En."""
    asr = [r["value"] for r in results.values() if r["metric"] in ("wer", "cer")]
    st = [r["value"] for r in results.values() if r["metric"] == "bleu"]
    average = {}
    if asr:
        average["wer"] = sum(asr) / len(asr)
    if st:
        average["bleu"] = sum(st) / len(st)
    signature = next((r["signature"] for r in results.values() if "signature" in r), None)
    out = {"split": split, "objectives": results, "average": average, "decode_seconds": round(seconds, 2)}
    if signature:
        out["signature"] = {"bleu": signature}
    return out


def selection_score(results: dict) -> float:
    """One number to pick the best checkpoint (lower is better): average WER minus average BLEU."""
    avg = results["average"]
    return avg.get("wer", 0.0) - avg.get("bleu", 0.0)
