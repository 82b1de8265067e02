"""Objectives as data: name, task, language, stream, head, static weight, and a loss -> (loss, metrics).

An objective sees only the encoder rows of its stream (:class:`EncView`) and the stream's batch. Objectives of
one language share a stream (one batch, one encoder pass: ASR and translation of the same utterances); the
self-supervised objective has its own stream. Every loss is a mean over utterances of per-utterance losses
(CTC: normalised by target length; decoder: token mean; SSL: frame mean), so batch halves (MoDo's two
samples) are just row subsets. Items with a non-finite or infeasible loss are dropped from the mean and
counted in ``LossOutput.skipped``. The supervised objectives (``separable = True``: an utterance's loss reads
only its own rows) also return their per-utterance losses, so a batch half's loss is a sum over its rows
(:meth:`LossOutput.rows`) instead of a second pass of the head over a copy of those rows.

>>> obj = build_objective(ObjectiveConfig("asr_fr", "asr", lang="fr"), d_model=144, vocab_size=256)  # doctest: +SKIP
>>> out = obj(view, batch)     # LossOutput(loss=tensor(…), metrics={…}, skipped=0, items=16)         # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from soups.config_schema import check_ranges
from soups.data.batch import Batch
from soups.data.tokenizer import BOS, EOS, PAD
from soups.errors import ConfigError
from soups.model import ClassificationHead, CTCHead, TransformerDecoderHead, build_ssl, make_decoder_io

GENDER_LABELS = {"m": 0, "f": 1}
HEADS = {"asr": ("ctc",), "st": ("decoder", "ctc"), "ssl": ("bestrq", "cpc"), "gender": ("classifier",)}


@dataclass
class ObjectiveConfig:
    name: str
    task: Literal["asr", "st", "ssl", "gender"]
    lang: str | None = None                    # asr/st/gender: the (source) language
    langs: list[str] | None = None             # ssl: languages pooled in its stream (default: all supervised)
    head: str | None = None                    # see HEADS; default: the first choice for the task
    weight: float = 1.0                        # static weight (linear scalarization)
    inter_ctc_weight: float = 0.0              # asr: intermediate-CTC share (needs model.intermediate_layers)

    def validate(self, prefix: str) -> None:
        self.head = self.head or HEADS[self.task][0]
        if self.head not in HEADS[self.task]:
            raise ConfigError(f"{prefix}.head", f"invalid head {self.head!r} for task {self.task}",
                              choices=HEADS[self.task])
        if self.task in ("asr", "st", "gender") and not self.lang:
            raise ConfigError(f"{prefix}.lang", f"a {self.task} objective needs its language")
        if self.task == "st" and self.lang == "en":
            raise ConfigError(f"{prefix}.lang", "translation objectives are X -> English; 'en' is not a source")
        check_ranges(self, prefix, {"weight": ">=0"})
        if not 0 <= self.inter_ctc_weight < 1:
            raise ConfigError(f"{prefix}.inter_ctc_weight", "must be in [0, 1)")

    @property
    def stream(self) -> str:
        """Objectives of one language share a stream (one batch, one encoder pass); SSL has its own."""
        return "ssl" if self.task == "ssl" else self.lang


@dataclass
class EncView:
    """Encoder output rows of one stream: ``out (B, T, D)``, ``mask (B, T)``, ``lengths (B,)`` and the
    intermediate block outputs used by intermediate CTC (``{block index: (B, T, D)}``)."""

    out: Tensor
    mask: Tensor
    lengths: Tensor
    intermediate: dict[int, Tensor]

    def detached(self) -> "EncView":
        """The same rows as new autograd leaves: a head computed on them has a graph of its own, which a
        backward through the heads frees before the shared model's backward (see ``MultiTaskModel``)."""
        leaf = lambda x: x.detach().requires_grad_(x.requires_grad)  # noqa: E731
        return EncView(leaf(self.out), self.mask, self.lengths, {k: leaf(v) for k, v in self.intermediate.items()})

    def select(self, rows: Tensor) -> "EncView":
        """Rows ``rows`` (e.g. one batch half); the time axis is kept (it matches the batch's SSL masks)."""
        pick = lambda x: x.index_select(0, rows)  # noqa: E731
        return EncView(pick(self.out), pick(self.mask), self.lengths[rows],
                       {k: pick(v) for k, v in self.intermediate.items()})


@dataclass
class LossOutput:
    loss: Tensor           # scalar, finite (a graph-connected zero when nothing was valid)
    metrics: dict[str, float]
    skipped: int = 0       # items dropped (infeasible CTC target, non-finite loss, unknown label)
    items: int = 0
    weight: float = 0.0    # how many units the loss averages over (utterances, or SSL target frames)
    per_item: Tensor | None = None     # (B,) each kept item's loss, 0 for dropped ones (separable objectives)
    item_weight: Tensor | None = None  # (B,) 1 for kept items, 0 for dropped ones

    @classmethod
    def per_utterance(cls, per_utt: Tensor, keep: Tensor, anchor: Tensor, metrics: dict | None = None,
                      loss: Tensor | None = None) -> "LossOutput":
        """The mean of ``per_utt (B,)`` over ``keep`` (or ``loss`` if given), dropped items counted, and the
        per-item losses kept for :meth:`rows`; ``metrics["loss"]`` is set."""
        loss = masked_mean(per_utt, keep, anchor) if loss is None else loss
        return cls(loss, {**(metrics or {}), "loss": float(loss.detach())}, int((~keep).sum()), len(keep),
                   float(keep.sum()), kept_items(per_utt, keep), keep.to(per_utt))

    def rows(self, rows: Tensor) -> "LossOutput":
        """The loss on items ``rows`` alone (a batch half), from the per-item losses: the same mean the
        objective computes on those items, without running its head again.

        >>> out = LossOutput(torch.tensor(2.0), {}, 1, 3, 2.0, torch.tensor([1.0, 0.0, 3.0]),
        ...                  torch.tensor([1.0, 0.0, 1.0]))
        >>> half = out.rows(torch.tensor([1, 2]))
        >>> float(half.loss), half.skipped, half.items, half.weight
        (3.0, 1, 2, 1.0)
        """
        w = self.item_weight[rows]
        weight = float(w.sum())
        return LossOutput(self.per_item[rows].sum() / max(weight, 1.0), self.metrics, int((w == 0).sum()),
                          len(rows), weight)


def pad_tokens(seqs: list[list[int]], device) -> tuple[Tensor, Tensor]:
    """Token lists -> ``(B, S)`` padded with PAD, lengths ``(B,)``."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), max(1, int(lengths.max()) if len(seqs) else 1)), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out.to(device), lengths.to(device)


def kept_items(per_item: Tensor, keep: Tensor) -> Tensor:
    """``per_item`` with dropped items set to 0 by indexing (no gradient reaches a dropped item, whose own
    gradient may be non-finite)."""
    out = per_item.new_zeros(per_item.shape)
    out[keep] = per_item[keep]
    return out


def masked_mean(per_item: Tensor, keep: Tensor, anchor: Tensor) -> Tensor:
    """Mean of ``per_item`` over ``keep``; a zero connected to ``anchor``'s graph when nothing is kept."""
    if bool(keep.any()):
        return per_item[keep].mean()
    return anchor.sum() * 0.0


class Objective(nn.Module):
    """Base class; subclasses implement ``forward(view, batch) -> LossOutput``."""

    def __init__(self, cfg: ObjectiveConfig, head: nn.Module):
        super().__init__()
        self.cfg, self.head = cfg, head

    name = property(lambda self: self.cfg.name)
    task = property(lambda self: self.cfg.task)
    lang = property(lambda self: self.cfg.lang)
    stream = property(lambda self: self.cfg.stream)

    def targets(self, batch: Batch) -> list[list[int]]:
        return batch.asr_tokens if self.task == "asr" else batch.st_tokens

    separable = False   # True: per-item losses (LossOutput.per_item), each from the item's own rows only


class CTCObjective(Objective):
    """ASR (or CTC translation): CTC on the encoder output, optionally plus intermediate CTC
    (the same head on intermediate blocks, weight ``inter_ctc_weight``; Lee & Watanabe 2021)."""

    separable = True

    def forward(self, view: EncView, batch: Batch) -> LossOutput:
        targets, target_lens = pad_tokens(self.targets(batch), view.out.device)
        main = self.head.loss(view.out, view.lengths, targets, target_lens)
        keep = main.feasible & main.finite & (target_lens > 0)
        norm = target_lens.clamp(min=1).to(main.losses)
        per_utt = main.losses / norm
        loss, metrics = masked_mean(per_utt, keep, view.out), {}
        w = self.cfg.inter_ctc_weight
        if w > 0 and view.intermediate:
            inter = torch.stack([self.head.loss(h, view.lengths, targets, target_lens).losses / norm
                                 for h in view.intermediate.values()]).mean(0)
            inter_loss = masked_mean(inter, keep, view.out)
            metrics = {"ctc": float(loss.detach()), "inter_ctc": float(inter_loss.detach())}
            loss = (1 - w) * loss + w * inter_loss
            per_utt = (1 - w) * per_utt + w * inter   # dropped items stay out (per_utterance indexes by keep)
        return LossOutput.per_utterance(per_utt, keep, view.out, metrics, loss=loss)


class DecoderObjective(Objective):
    """Translation with an attention decoder: label-smoothed cross-entropy, teacher forcing."""

    separable = True

    def forward(self, view: EncView, batch: Batch) -> LossOutput:
        targets, target_lens = pad_tokens(self.targets(batch), view.out.device)
        tokens_in, tokens_out, lengths = make_decoder_io(targets, target_lens, BOS, EOS, PAD)
        per_utt = self.head.loss(view.out, view.mask, tokens_in, tokens_out, lengths, reduction="none")
        keep = torch.isfinite(per_utt) & (target_lens > 0)
        return LossOutput.per_utterance(per_utt, keep, view.out)


class SSLObjectiveAdapter(Objective):
    """The self-supervised objective (BEST-RQ or CPC); its batch carries the prepared ``SSLBatch``.
    ``generator`` (set by the trainer) drives its sampling (CPC negatives) reproducibly."""

    generator: torch.Generator | None = None

    def forward(self, view: EncView, batch: Batch) -> LossOutput:
        loss, metrics = self.head.loss(view.out, view.mask, batch.ssl, self.generator)
        if not torch.isfinite(loss):
            return LossOutput(view.out.sum() * 0.0, {"loss": float("nan")}, skipped=len(batch), items=len(batch))
        units = metrics.get("num_targets", metrics.get("num_predictions", float(len(batch))))
        return LossOutput(loss, metrics, items=len(batch), weight=float(units))


class GenderObjective(Objective):
    """Utterance-level gender classification (cross-entropy); unlabeled utterances are skipped."""

    separable = True

    def forward(self, view: EncView, batch: Batch) -> LossOutput:
        labels = torch.tensor([GENDER_LABELS.get(g or "", -1) for g in batch.genders], device=view.out.device)
        per_utt = self.head.loss(view.out, view.mask, labels.clamp(min=0))
        keep = (labels >= 0) & torch.isfinite(per_utt)
        logits = self.head(view.out, view.mask).detach()
        acc = float((logits.argmax(-1) == labels)[keep].float().mean()) if bool(keep.any()) else 0.0
        return LossOutput.per_utterance(per_utt, keep, view.out, {"accuracy": acc})


def build_objective(cfg: ObjectiveConfig, d_model: int, vocab_size: int | None = None,
                    decoder: dict | None = None, ssl: dict | None = None, subsampling: int = 4) -> Objective:
    """The objective with a freshly initialised head (``subsampling``: the encoder's factor in time)."""
    if cfg.task == "ssl":
        options = dict(ssl or {})
        if cfg.head == "bestrq":  # BEST-RQ stacks as many input frames per target as the encoder subsamples
            options.setdefault("stack_frames", subsampling)
            if options["stack_frames"] != subsampling:
                raise ConfigError("model.ssl.stack_frames", f"must equal model.encoder.subsampling_factor "
                                  f"({subsampling}), got {options['stack_frames']}")
        return SSLObjectiveAdapter(cfg, build_ssl(cfg.head, d_model, **options))
    if cfg.task == "gender":
        return GenderObjective(cfg, ClassificationHead(d_model, len(GENDER_LABELS)))
    if cfg.head == "ctc":
        return CTCObjective(cfg, CTCHead(d_model, vocab_size))
    head = TransformerDecoderHead(d_model, vocab_size, pad_id=PAD, bos_id=BOS, eos_id=EOS, **(decoder or {}))
    return DecoderObjective(cfg, head)
