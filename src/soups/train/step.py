"""One training step, top to bottom (nanoGPT style):

1. one batch per stream (per language, plus the self-supervised stream);
2. SpecAugment on supervised batches, BEST-RQ masking (or CPC's pass-through) on the SSL batch;
3. ONE encoder forward over all streams;
4. every objective's loss — on two batch halves when MoDo's double sampling is on;
5. ``soups.moo.MultiObjective`` sets the gradients (heads: their own objective; encoder: Σ w_m g_m);
6. clip, AdamW step (skipped, and counted, if the gradients are not finite), LR schedule.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from soups.data.prefetch import Prefetcher
from soups.data.skips import SkipLog
from soups.data.specaugment import SpecAugment
from soups.errors import SoupsError
from soups.moo.api import MultiObjective
from soups.moo.engine import NonFiniteStep, StepTerms
from soups.moo.record import StepRecord
from soups.multitask import MultiTaskModel
from soups.train.config import ExperimentConfig


@dataclass
class TrainContext:
    cfg: ExperimentConfig
    exp_dir: Path
    device: torch.device
    model: MultiTaskModel
    data: Prefetcher                  # every stream's batches (soups.data.prefetch: prepared ahead)
    moo: MultiObjective               # the multi-objective backward (soups.moo's public API)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    steps_per_epoch: int
    skips: SkipLog
    specaug: SpecAugment | None
    gen_ssl: torch.Generator          # CPC negatives (BEST-RQ masks and SpecAugment use per-utterance seeds)
    step: int = 0
    skipped_steps: int = 0                                    # optimizer steps skipped (non-finite grads)
    skipped_items: Counter = field(default_factory=Counter)   # objective -> items dropped from its loss
    skipped_objective_steps: Counter = field(default_factory=Counter)  # objective -> steps with no usable item
    skipped_nonfinite: Counter = field(default_factory=Counter)  # "objective: what" -> dropped updates
    consecutive_skips: int = 0                                # dropped updates in a row (train.max_consecutive_skips)
    data_s: float = 0.0               # this step's seconds getting batches (waiting, augmenting, moving to device)
    tokenizers: dict = field(default_factory=dict)
    cmvn: object = None
    comm: object = None               # a soups.train.distributed.Communicator under torchrun, else None

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    def autocast(self):
        if self.device.type == "cuda" and self.cfg.train.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def utterance_generators(seed: int, step: int, stream: int, positions: list[int]) -> list[torch.Generator]:
    """One generator per utterance, seeded by (seed, step, stream, position in the global batch): the same
    random draws whatever the number of ranks, and nothing to checkpoint for an exact resume."""
    mix = lambda *xs: functools.reduce(lambda a, x: (a * 1_000_003 + x) % (2**61 - 1), xs, 17)  # noqa: E731
    return [torch.Generator().manual_seed(mix(seed, step, stream, p)) for p in positions]


def next_batches(ctx: TrainContext, micro: int = 0) -> dict:
    """A batch from every stream, ready to train on (see :func:`finish_batches`); ``micro``: the micro-batch
    within the step (``train.accumulate``). Read and finished ahead when ``data.prefetch`` > 0."""
    draw = ctx.step * ctx.cfg.train.accumulate + micro
    if ctx.data.draw != draw:
        raise RuntimeError(f"the data delivers draw {ctx.data.draw}, step {ctx.step} micro-batch {micro} needs {draw}")
    return ctx.data.next()


def finish_batches(ctx: TrainContext, batches: dict, draw: int) -> dict:
    """One step's collated batches on the device, augmented (supervised) or prepared for self-supervision
    (SSL), with per-utterance random draws from (seed, ``draw``, stream, position): the same draws in the
    data thread or in the step, on one rank or many."""
    dtype = getattr(torch, ctx.cfg.train.precision)
    batches = {name: batch.to(ctx.device, dtype) for name, batch in batches.items()}
    order = ctx.model.streams()  # the stream's global index: the same on every rank, whatever it owns
    for name, batch in batches.items():
        gens = utterance_generators(ctx.cfg.train.seed, draw, order.index(name),
                                    batch.global_index or list(range(len(batch))))
        if name == "ssl":
            ssl = next(o for o in ctx.model.objectives.values() if o.task == "ssl")
            batch.ssl = prepare_ssl(ssl.head, batch, gens)
            batch.feats = batch.ssl.feats
        elif ctx.specaug is not None:
            batch.feats = ctx.specaug(batch.feats, batch.feat_lens, gens)
    return batches


def prepare_ssl(head, batch, gens: list[torch.Generator]):
    """The SSL objective's ``prepare`` (e.g. BEST-RQ masking) utterance by utterance — each unpadded, with
    its own generator, so its draws depend on nothing else — then padded back into one batch."""
    from soups.model import SSLBatch

    if not gens:
        return head.prepare(batch.feats, batch.feat_lens, None)
    t_max = batch.feats.shape[1]
    parts = [head.prepare(batch.feats[i:i + 1, : int(batch.feat_lens[i])], batch.feat_lens[i:i + 1], g)
             for i, g in enumerate(gens)]

    def cat(xs):
        if xs[0] is None:
            return None
        width = max(x.shape[1] for x in xs) if xs[0].dim() > 1 else None
        return torch.cat([torch.nn.functional.pad(x, (0, 0) * (x.dim() - 2) + (0, width - x.shape[1]))
                          for x in xs]) if width is not None else torch.cat(xs)

    feats = cat([p.feats for p in parts])
    feats = torch.nn.functional.pad(feats, (0, 0, 0, t_max - feats.shape[1]))
    t_enc = max(p.targets.shape[1] for p in parts) if parts[0].targets is not None else None
    targets, mask = cat([p.targets for p in parts]), cat([p.frame_mask for p in parts])
    if t_enc is not None:
        pad = int(head.encoder_frames(t_max)) - t_enc
        targets = torch.nn.functional.pad(targets, (0, 0) * (targets.dim() - 2) + (0, pad))
        mask = torch.nn.functional.pad(mask, (0, pad))
    return SSLBatch(feats, cat([p.lengths for p in parts]), targets, mask)


def step_terms(model: MultiTaskModel, views: dict, batches: dict, halves: bool, split_heads: bool = True
               ) -> tuple[StepTerms, dict]:
    """The loss → gradient hand-off: every objective's losses, taps, sample rows and heads from the model,
    assembled into the :class:`StepTerms` of :meth:`MultiObjective.backward_terms`; plus the outputs to log."""
    parts, outputs = model.objective_losses(views, batches, halves, split_heads)
    terms = StepTerms([], [], [] if halves else None, [], [], [] if split_heads else None, [])
    for name, obj in model.objectives.items():
        part = parts[name]
        terms.losses.append(part.losses if part else [])
        terms.taps.append(part.taps if part else [])
        terms.head_params.append(part.head_params if part else [p for p in obj.parameters() if p.requires_grad])
        terms.sample_weights.append(part.weights if part else [])
        if halves:
            terms.sample_rows.append(part.rows if part else [])
        if split_heads:
            terms.head_inputs.append(part.head_inputs if part else [])
        terms.tap_samples.append(part.tap_samples if part else None)
    return terms, outputs


def forward_terms(model: MultiTaskModel, cfg, batches: dict, split_heads: bool = True) -> tuple[StepTerms, dict]:
    """The forward half of a step: the encoder as ``train.encoder_forward`` says (joint, per stream or per
    batch half), then every objective's losses on its samples (two halves for MoDo's double sampling)."""
    halves = cfg.moo.double_sampling == "halves" and cfg.moo.mode != "linear"
    views = model.encode(batches, joint=cfg.joint_encoder_forward(), halves=cfg.half_encoder_forward())
    return step_terms(model, views, batches, halves=halves, split_heads=split_heads)


def micro_step(ctx: TrainContext, micro: int = 0) -> tuple[dict, StepRecord]:
    """Forward and the multi-objective backward on one micro-batch: gradients add up in ``.grad``;
    returns (per-objective outputs, the backward's :class:`StepRecord`)."""
    cfg, model = ctx.cfg, ctx.model
    start = time.perf_counter()
    batches = next_batches(ctx, micro)
    ctx.data_s += time.perf_counter() - start
    with ctx.autocast():
        terms, outputs = forward_terms(model, cfg, batches)
    if ctx.comm is not None:
        ctx.comm.normalize_losses(terms)  # data parallel: exact global means
    ctx.moo.set_position(ctx.step, ctx.epoch)
    return outputs, ctx.moo.backward_terms(terms)


def train_step(ctx: TrainContext) -> dict:
    """One update (``train.accumulate`` micro-batches, gradients averaged); returns the step's scalars for
    logging (losses of the last micro-batch; ``data_s``: seconds the step spent getting its batches).

    A non-finite loss, gradient or Gram (:class:`NonFiniteStep`, any mode) or gradient norm drops the step's
    update: no optimizer step, λ unchanged, the skip counted with the objective that caused it; the step
    counter and LR schedule still advance (the batches were consumed). After ``train.max_consecutive_skips``
    skips in a row training stops with :class:`TrainingDiverged` (the last checkpoint stays the last good one)."""
    cfg, model = ctx.cfg, ctx.model
    model.train()
    cause, ctx.data_s = None, 0.0
    try:
        for micro in range(cfg.train.accumulate):
            outputs, info = micro_step(ctx, micro)
    except NonFiniteStep as err:
        cause = ("step" if err.objective is None else ctx.model.names[err.objective], err.what)
        if ctx.comm is not None:  # the other ranks are inside a collective: stop cleanly instead of skipping alone
            raise TrainingDiverged(f"step {ctx.step}: {cause[1]} of {cause[0]} is not finite on rank "
                                   f"{ctx.comm.rank}; under torchrun such a step stops training") from None
        penalties = ctx.moo.hierarchy.penalty_values(ctx.epoch, ctx.step)
        outputs, info = {}, StepRecord(ctx.model.names, ctx.moo.static_weights(), ctx.step, ctx.epoch,
                                       cfg.moo.mode, penalties=penalties)
        grad_norm = float("nan")
    if cause is None:
        if ctx.comm is not None:
            ctx.comm.reduce_grads(model)
        if cfg.train.accumulate > 1:
            for p in model.parameters():
                if p.grad is not None:
                    p.grad /= cfg.train.accumulate
        params = [p for p in model.parameters() if p.grad is not None]
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip))
        if not math.isfinite(grad_norm):  # linear mode (or a non-finite update in any mode): name a culprit if any
            bad = [name for name, out in outputs.items() if not math.isfinite(float(out.loss.detach()))]
            cause = (bad[0], "loss") if bad else ("step", "gradient norm")
    if cause is None:
        ctx.optimizer.step()
        ctx.consecutive_skips = 0
    else:
        _skip(ctx, cause)
    ctx.optimizer.zero_grad(set_to_none=True)
    ctx.scheduler.step()
    ctx.step += 1
    return step_record(ctx, outputs, info, grad_norm) | {"data_s": ctx.data_s}


class TrainingDiverged(SoupsError):
    """Too many consecutive steps had non-finite values (``train.max_consecutive_skips``)."""


def _skip(ctx: TrainContext, cause: tuple[str, str]) -> None:
    """Count a dropped update (``skipped_steps``, and per cause ``skipped_nonfinite``); stop when too many in a row."""
    ctx.skipped_steps += 1
    ctx.consecutive_skips += 1
    ctx.skipped_nonfinite[f"{cause[0]}: {cause[1]}"] += 1
    limit = ctx.cfg.train.max_consecutive_skips
    if ctx.consecutive_skips >= limit:
        causes = ", ".join(f"{k} x{v}" for k, v in ctx.skipped_nonfinite.most_common(3))
        raise TrainingDiverged(f"training stopped at step {ctx.step}: {limit} consecutive steps had non-finite "
                               f"values (train.max_consecutive_skips; most frequent: {causes}); the last checkpoint "
                               f"in {ctx.exp_dir / 'checkpoints'} is the last good state — lower train.lr_backbone "
                               "/ train.lr_heads or check the data")


def gathered_losses(ctx: TrainContext, outputs: dict) -> dict[str, float]:
    """Each objective's loss for the log: local, or (distributed) the item-weighted mean over ranks."""
    if ctx.comm is None:
        return {name: float(out.loss.detach()) for name, out in outputs.items()}
    names = ctx.model.names
    vec = torch.zeros(2, len(names), dtype=torch.float64)
    for i, name in enumerate(names):
        if name in outputs:
            w = max(outputs[name].weight, 1e-12)
            vec[0, i], vec[1, i] = float(outputs[name].loss.detach()) * w, w
    vec = ctx.comm._all_reduce(vec)
    return {name: float(vec[0, i] / vec[1, i]) for i, name in enumerate(names) if vec[1, i] > 0}


def step_record(ctx: TrainContext, outputs: dict, info: StepRecord, grad_norm: float) -> dict:
    """Scalars of one step: per-objective losses and metrics, weights, penalties, LRs, skips."""
    rec = {"epoch": ctx.epoch, "grad_norm": grad_norm, "skipped_steps": ctx.skipped_steps}
    if ctx.consecutive_skips:
        rec["skipped_nonfinite"] = dict(ctx.skipped_nonfinite)
    losses = gathered_losses(ctx, outputs)
    for name, out in outputs.items():
        ctx.skipped_items[name] += out.skipped
        if out.items and out.skipped >= out.items:  # nothing usable: this objective sat the step out
            ctx.skipped_objective_steps[name] += 1
            rec[f"skipped_steps/{name}"] = ctx.skipped_objective_steps[name]
        rec.update({f"{k}/{name}": v for k, v in out.metrics.items() if k != "loss"})
        rec[f"skipped_items/{name}"] = ctx.skipped_items[name]
    rec.update({f"loss/{name}": v for name, v in losses.items()})
    rec.update(info.scalars(levels=ctx.moo.hierarchy.index))  # w/, eta/, lambda/ (levels updated this step)
    for group in ctx.optimizer.param_groups:
        rec[f"lr/{group['name']}"] = group["lr"]
    if info.selected is not None:
        rec.update({f"layer_selected/{n}": float(n in info.selected) for n in ctx.model.layer_groups()})
    return rec
