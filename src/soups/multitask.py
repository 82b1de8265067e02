"""The multi-task model: one shared Conformer encoder and one objective (with its head) per task.

``encode`` runs the encoder once over the batches of every stream (concatenated and padded), once per
stream, or once per batch half of each stream (MoDo's double sampling in faithful/layers mode: each half's
per-objective backward then traverses only its own half's graph), and hands each stream its rows as an
:class:`~soups.objectives.EncView`. ``objective_losses`` computes every
objective's loss — on two batch halves when MoDo's double sampling is on — with what the multi-objective
backward needs (:class:`ObjectiveLosses`): each objective reads the encoder through its own slice of the
output (a *tap*), so per-objective gradients can be taken at the taps. With ``split_heads``
(the default) each head reads a detached copy of its tap (a leaf): the engine backpropagates the heads on their
own and frees their graph before the shared backward (torchjd's ``mtl_backward`` needs ``split_heads=False``).

Shapes: stream batches ``feats (B_s, T_s, 80)``; the joint forward sees ``(Σ B_s, max T_s, 80)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from soups.data.batch import Batch
from soups.model import ConformerEncoder
from soups.objectives import EncView, LossOutput, Objective


@dataclass
class ObjectiveLosses:
    """One objective's part of a step: its loss on each sample (the two batch halves, or the whole batch), the
    tensors where it meets the encoder (``taps``: its output slice and intermediate layers), what its head read
    (detached copies of the taps with ``split_heads``, else the taps), each sample's rows of the taps, how many
    items each loss averages, and its head parameters."""

    losses: list[torch.Tensor]
    taps: list[torch.Tensor]
    head_inputs: list[torch.Tensor]
    rows: list[torch.Tensor]
    weights: list[float]
    head_params: list[nn.Parameter]
    tap_samples: list[int] | None = None   # the sample of each tap (one encoder call per half), else None


def _pad_cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    t_max = max(x.shape[1] for x in tensors)
    return torch.cat([nn.functional.pad(x, (0, 0, 0, t_max - x.shape[1])) for x in tensors])


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: ConformerEncoder, objectives: list[Objective]):
        super().__init__()
        self.encoder = encoder
        self.objectives = nn.ModuleDict({o.name: o for o in objectives})

    @property
    def names(self) -> list[str]:
        return list(self.objectives.keys())

    def streams(self) -> list[str]:
        """Stream names in a fixed order (first appearance among objectives)."""
        return list(dict.fromkeys(o.stream for o in self.objectives.values()))

    def layer_groups(self) -> dict[str, list[nn.Parameter]]:
        return self.encoder.layer_groups()

    def encode(self, batches: dict[str, Batch], joint: bool = True, halves: bool = False) -> dict:
        """Encoder outputs per stream. ``joint``: one forward over all streams' utterances; else one per
        stream, or with ``halves`` one per batch half of a stream whose two halves are distinct and non-empty
        (:meth:`Batch.halves`; a 1-utterance batch or a shard holding one half only takes one call)."""
        names = [s for s in self.streams() if s in batches]
        if not joint:
            return {s: self._stream_view(batches[s], halves) for s in names}
        feats = _pad_cat([batches[s].feats for s in names])
        lens = torch.cat([batches[s].feat_lens for s in names])
        enc = self.encoder(feats, lens)
        views, start = {}, 0
        for s in names:
            n = len(batches[s])
            views[s] = self._view(enc, slice(start, start + n))
            start += n
        return views

    @staticmethod
    def _view(enc, rows: slice) -> "_StreamRows":
        return _StreamRows(enc, rows)

    def _stream_view(self, batch: Batch, halves: bool) -> "_StreamRows | _HalvedStream":
        """One stream's encoder output: one call, or one per batch half (see :meth:`encode`)."""
        parts = batch.halves() if halves else []
        if not parts or not parts[0] or not parts[1] or parts[0] == parts[1]:
            return _StreamRows(self.encoder(batch.feats, batch.feat_lens), slice(None))
        views = []
        for rows in parts:
            idx = torch.tensor(rows, dtype=torch.long, device=batch.feats.device)
            enc = self.encoder(batch.feats.index_select(0, idx), batch.feat_lens.index_select(0, idx))
            views.append(_StreamRows(enc, slice(None)))
        # every half keeps the stream's time axis (SSL targets and masks are laid out on it)
        return _HalvedStream(parts, views, max(int(v.enc.lengths.max()) for v in views))

    def objective_losses(self, views: dict, batches: dict[str, Batch], halves: bool, split_heads: bool = True
                         ) -> tuple[dict[str, ObjectiveLosses | None], dict[str, LossOutput]]:
        """Every objective's loss(es), taps and head parameters (None: its stream has no batch here — computed by
        another process); plus the full outputs for logging. The training step turns them into the engine's
        :class:`~soups.moo.engine.StepTerms` (``soups.train.step.step_terms``)."""
        parts: dict[str, ObjectiveLosses | None] = {}
        outputs: dict[str, LossOutput] = {}
        for name, obj in self.objectives.items():
            heads = [p for p in obj.parameters() if p.requires_grad]
            if obj.stream not in batches:
                parts[name] = None
                continue
            if isinstance(views[obj.stream], _HalvedStream):
                parts[name], outputs[name] = self._half_losses(obj, views[obj.stream], batches[obj.stream], heads,
                                                               split_heads)
                continue
            view, batch = views[obj.stream].tap(), batches[obj.stream]  # the objective's own output slice
            taps = [view.out, *view.intermediate.values()]
            if split_heads:
                view = view.detached()
            rows, outs = self._sample_losses(obj, view, batch, halves)
            parts[name] = ObjectiveLosses([o.loss for o in outs], taps, [view.out, *view.intermediate.values()],
                                          [r.to(view.out.device) for r in rows], [o.weight for o in outs], heads)
            outputs[name] = _merge(outs)
        return parts, outputs

    @staticmethod
    def _half_losses(obj, view: "_HalvedStream", batch: Batch, heads: list, split_heads: bool
                     ) -> tuple[ObjectiveLosses, LossOutput]:
        """The objective on each half's own encoder output: its taps carry the half they belong to."""
        taps, inputs, tap_samples, outs = [], [], [], []
        for s, (rows, half) in enumerate(zip(view.rows, view.halves)):
            v = half.tap(view.t_out)
            own = [v.out, *v.intermediate.values()]
            if split_heads:
                v = v.detached()
            outs.append(obj(v, batch.select(rows)))
            taps += own
            inputs += [v.out, *v.intermediate.values()]
            tap_samples += [s] * len(own)
        rows = [torch.tensor(r, dtype=torch.long, device=taps[0].device) for r in view.rows]
        return (ObjectiveLosses([o.loss for o in outs], taps, inputs, rows, [o.weight for o in outs], heads,
                                tap_samples), _merge(outs))

    @staticmethod
    def _sample_losses(obj, view, batch: Batch, halves: bool) -> tuple[list[torch.Tensor], list[LossOutput]]:
        """The objective on each sample: the two halves (MoDo's double sampling) or the whole batch."""
        if len(batch) == 0:  # an empty shard (fewer utterances than ranks): zero losses, still in the graph
            zero = LossOutput(view.out.sum() * 0.0, {}, items=0, weight=0.0)
            n = 2 if halves else 1
            return [torch.arange(0)] * n, [zero] * n
        if not halves:
            return [torch.arange(len(batch))], [obj(view, batch)]
        parts = [torch.tensor(h, dtype=torch.long) for h in batch.halves()]
        if parts[0].equal(parts[1]):  # a 1-utterance batch is both samples (the engine splits its gradient)
            return parts, [obj(view, batch)] * 2
        if obj.separable:  # one head pass; each half's loss from the per-utterance losses
            full = obj(view, batch)
            return parts, [full.rows(r.to(full.per_item.device)) for r in parts]
        outs = []
        for r in parts:
            if len(r) == 0:  # this shard holds no utterance of that half
                outs.append(LossOutput(view.out.sum() * 0.0, {}, items=0, weight=0.0))
            else:
                outs.append(obj(view.select(r.to(view.out.device)), batch.select(r.tolist())))
        return parts, outs


class _StreamRows:
    """A stream's rows of the encoder output; ``tap()`` makes an objective's own slice (a distinct
    autograd node, so gradients w.r.t. it belong to that objective alone)."""

    def __init__(self, enc, rows: slice):
        self.enc, self.rows = enc, rows

    def tap(self, t: int | None = None) -> EncView:
        """The rows' output cut to ``t`` frames (default: their longest)."""
        lengths = self.enc.lengths[self.rows]
        if t is None:
            t = int(lengths.max()) if len(lengths) else 0
        cut = lambda x: x[self.rows, :t]  # noqa: E731
        return EncView(cut(self.enc.out), cut(self.enc.mask), lengths,
                       {k: cut(v) for k, v in (self.enc.intermediate or {}).items()})


@dataclass
class _HalvedStream:
    """A stream encoded one batch half at a time: ``rows[s]`` (indices into the stream's batch) and
    ``halves[s]`` (that half's encoder output), every half cut to the stream's ``t_out`` frames."""

    rows: list[list[int]]
    halves: list[_StreamRows]
    t_out: int


def _merge(outs: list[LossOutput]) -> LossOutput:
    """One LossOutput for logging from the per-sample ones (mean loss and metrics, summed counts)."""
    if len(outs) == 1:
        return outs[0]
    keys = set.intersection(*(set(o.metrics) for o in outs))
    metrics = {k: sum(o.metrics[k] for o in outs) / len(outs) for k in keys}
    return LossOutput(sum(o.loss for o in outs) / len(outs), metrics, sum(o.skipped for o in outs),
                      sum(o.items for o in outs), sum(o.weight for o in outs))
