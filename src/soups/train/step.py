"""One training step, top to bottom (nanoGPT style):

1. one batch per stream (per language, plus the self-supervised stream);
2. SpecAugment on supervised batches, BEST-RQ masking (or CPC's pass-through) on the SSL batch;
3. ONE encoder forward over all streams;
4. every objective's loss — on two batch halves when MoDo's double sampling is on;
5. the gradient engine sets the gradients (heads: their own objective; encoder: Σ w_m g_m);
6. clip, AdamW step (skipped, and counted, if the gradients are not finite), LR schedule.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from soups.data.skips import SkipLog
from soups.data.specaugment import SpecAugment
from soups.moo.engine import GradientEngine
from soups.multitask import MultiTaskModel
from soups.train.build import static_weights
from soups.train.config import ExperimentConfig


@dataclass
class TrainContext:
    cfg: ExperimentConfig
    exp_dir: Path
    device: torch.device
    model: MultiTaskModel
    streams: dict
    engine: GradientEngine
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    steps_per_epoch: int
    skips: SkipLog
    specaug: SpecAugment | None
    gen_aug: torch.Generator          # SpecAugment draws
    gen_ssl: torch.Generator          # BEST-RQ masks / CPC negatives
    step: int = 0
    skipped_steps: int = 0                                    # optimizer steps skipped (non-finite grads)
    skipped_items: Counter = field(default_factory=Counter)   # objective -> items dropped from its loss
    skipped_objective_steps: Counter = field(default_factory=Counter)  # objective -> steps with no usable item
    reduce_grads: object = None                               # distributed: mean of gradients across ranks
    tokenizers: dict = field(default_factory=dict)
    cmvn: object = None

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    def autocast(self):
        if self.device.type == "cuda" and self.cfg.train.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def next_batches(ctx: TrainContext) -> dict:
    """A batch from every stream, augmented (supervised) or prepared for self-supervision (SSL)."""
    batches = {name: stream.next_batch().to(ctx.device) for name, stream in ctx.streams.items()}
    for name, batch in batches.items():
        if name == "ssl":
            ssl = next(o for o in ctx.model.objectives.values() if o.task == "ssl")
            batch.ssl = ssl.head.prepare(batch.feats, batch.feat_lens, ctx.gen_ssl)
            batch.feats = batch.ssl.feats
        elif ctx.specaug is not None:
            batch.feats = ctx.specaug(batch.feats, batch.feat_lens, ctx.gen_aug)
    return batches


def train_step(ctx: TrainContext) -> dict:
    """One update; returns the step's scalars for logging."""
    cfg, model = ctx.cfg, ctx.model
    model.train()
    batches = next_batches(ctx)
    with ctx.autocast():
        views = model.encode(batches, joint=cfg.train.encoder_forward == "joint")
        terms, outputs = model.objective_terms(views, batches, halves=cfg.moo.double_sampling == "halves"
                                               and cfg.moo.mode != "linear")
    w_static = static_weights(cfg, ctx.engine, ctx.epoch, ctx.step)
    info = ctx.engine.backward(terms, ctx.epoch, ctx.step, static_weights=w_static)
    if ctx.reduce_grads is not None:
        ctx.reduce_grads(model)
    params = [p for p in model.parameters() if p.grad is not None]
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip))
    if math.isfinite(grad_norm):
        ctx.optimizer.step()
    else:
        ctx.skipped_steps += 1
    ctx.optimizer.zero_grad(set_to_none=True)
    ctx.scheduler.step()
    ctx.step += 1
    return step_record(ctx, outputs, info, grad_norm)


def step_record(ctx: TrainContext, outputs: dict, info: dict, grad_norm: float) -> dict:
    """Scalars of one step: per-objective losses and metrics, weights, penalties, LRs, skips."""
    rec = {"epoch": ctx.epoch, "grad_norm": grad_norm, "skipped_steps": ctx.skipped_steps}
    for name, out in outputs.items():
        ctx.skipped_items[name] += out.skipped
        if out.items and out.skipped >= out.items:  # nothing usable: this objective sat the step out
            ctx.skipped_objective_steps[name] += 1
            rec[f"skipped_steps/{name}"] = ctx.skipped_objective_steps[name]
        rec[f"loss/{name}"] = float(out.loss.detach())
        rec.update({f"{k}/{name}": v for k, v in out.metrics.items() if k != "loss"})
        rec[f"skipped_items/{name}"] = ctx.skipped_items[name]
    for name, w in zip(ctx.model.names, info["weights"].tolist()):
        rec[f"w/{name}"] = w
    for i, eta in enumerate(ctx.engine.hierarchy.penalty_values(ctx.epoch, ctx.step)):
        rec[f"eta/{i + 1}"] = eta
    for group in ctx.optimizer.param_groups:
        rec[f"lr/{group['name']}"] = group["lr"]
    if "selected" in info:
        selected = set(info["selected"])
        rec.update({f"layer_selected/{n}": float(n in selected) for n in ctx.model.layer_groups()})
    return rec
