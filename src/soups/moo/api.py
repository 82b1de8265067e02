"""Conflict-aware multi-objective backward for any PyTorch training loop (docs/moo-api.md).

Two calls per step, as with torchjd's ``mtl_backward`` and an aggregator — the model stays the user's:

    moo = MultiObjective(["asr_en", "asr_fr", "ssl"], shared=model.encoder, ssl=["ssl"],
                         hierarchy={"formulation": "vc", "weighting": "modo"}, mode="fast", steps_per_epoch=500)
    for batch in loader:
        feats = model.encoder(batch.x)                           # (B, T, D): the shared features
        losses = {name: head(feats, batch) for name, head in model.heads.items()}   # per item (B,) or scalar
        record = moo.backward(losses, feats)                     # .grad set on the encoder and every head
        optimizer.step(); optimizer.zero_grad()

Each head gets its own objective's gradient; the shared module gets d = Σ_m w_m g_m with w from the hierarchy
(VS/VC/VM levels, MoDo or another weighting per level, penalty schedules; docs/method.md). ``mode`` chooses how
the per-objective gradients are taken: ``fast`` (at the features, then one backward: ≈ the cost of a plain
backward), ``faithful`` (exact per-objective gradients of every shared parameter), ``layers`` (exact ones on
conflicting layers only) or ``linear`` (static weights). MoDo's double sampling uses two halves of the batch:
give per-item losses (item i ↔ row i of the features) and the halves are taken here. The object counts steps
and epochs (penalty schedules), keeps its state in ``state_dict()``, and returns a typed :class:`StepRecord`.
Everything here is torch only; the engine underneath is :class:`soups.moo.engine.GradientEngine`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .engine import MODES, GradientEngine, StepTerms
from .groups import (MOOInputError, all_reduce_mean, as_tensor_list, flatten_grads, objective_leaves,
                     resolve_layer_groups, scale_losses_by_items)
from .hierarchy import Hierarchy, HierarchyConfig
from .layers import LayerSelector
from .record import StepRecord
from .sketch import GramSketch

Losses = Mapping[str, Tensor | Sequence[Tensor]]


class MultiObjective:
    """Per-objective losses + shared features in, ``.grad`` out (see the module docstring).

    ``objectives``: names, in the order of every vector here. ``shared``: the shared module (or its parameters;
    then ``layer_groups`` by parameter only). ``hierarchy``: the mapping soups' YAML uses under
    ``moo.hierarchy`` (formulation vs|vc|vm, levels, penalties, weighting and options; a torchjd weighting works
    too, :func:`soups.moo.torchjd.from_torchjd`). ``weights``: static per-objective weights (linear mode and
    the static part of layers mode; default 1, scaled by the level's penalty). ``layer_groups``: name → module,
    parameters or parameter-name prefixes (default: the module's layers, :func:`soups.moo.groups.layer_groups_of`);
    every trainable shared parameter must be in exactly one. ``steps_per_epoch``: epochs for the per-epoch
    penalty schedules (None: call :meth:`new_epoch`). ``accumulate``: micro-batches per optimizer step.
    ``distributed``: data parallel over ``torch.distributed`` — every rank calls :meth:`backward` on its shard;
    Grams and gradients are averaged so every rank holds the single-process result on the global batch (do not
    wrap the shared module in DDP, or call this inside ``ddp.no_sync()``). ``on_nonfinite``: ``"drop"`` an
    objective whose loss or gradient is not finite for the step (counted in ``dropped``, λ untouched), or
    ``"raise"`` :class:`soups.moo.engine.NonFiniteStep`; ``dropped`` counts them per objective over the run.
    ``batched_vjp``: faithful/layers modes take the per-objective gradients in one backward vmapped over the
    objectives (as torchjd does; faster where the shared model's operations batch, more memory).
    """

    def __init__(self, objectives: Sequence[str], shared: nn.Module | Sequence[nn.Parameter],
                 hierarchy: Mapping[str, Any] | HierarchyConfig | None = None, mode: str = "fast", *,
                 ssl: Collection[str] = (), tags: Mapping[str, Mapping[str, str]] | None = None,
                 weights: Mapping[str, float] | None = None, layer_groups: Mapping[str, Any] | None = None,
                 steps_per_epoch: int | None = None, accumulate: int = 1, update_every: int = 1,
                 double_sampling: bool | None = None, layers: Mapping[str, Any] | None = None, sketch: int = 0,
                 distributed: bool = False, on_nonfinite: str = "drop", seed: int = 0, sketch_kind: str = "countsketch",
                 linear_heads: str = "own", reduce: Callable[[Tensor], Tensor] | None = None,
                 batched_vjp: bool = False, key: str = "hierarchy") -> None:
        if mode not in MODES:
            raise MOOInputError(f"mode must be one of {MODES}, got {mode!r}")
        for name, value in (("steps_per_epoch", steps_per_epoch or 1), ("accumulate", accumulate),
                            ("update_every", update_every)):
            if int(value) < 1:
                raise MOOInputError(f"{name} must be >= 1, got {value}")
        self.names = list(objectives)
        self.hierarchy = Hierarchy(hierarchy or {"formulation": "vs", "weighting": "modo"}, self.names, ssl=ssl,
                                   tags=tags, key=key)
        unknown = sorted(set(weights or {}) - set(self.names))
        if unknown:
            raise MOOInputError(f"weights for unknown objectives {unknown}; objectives: {self.names}")
        self.static = torch.tensor([float((weights or {}).get(n, 1.0)) for n in self.names], dtype=torch.float64)
        module = shared if isinstance(shared, nn.Module) else None
        named = list(module.named_parameters()) if module is not None else [(f"param{i}", p) for i, p in
                                                                             enumerate(shared)]
        groups = resolve_layer_groups(named, layer_groups, module)
        self.shared_ids = {id(p) for _, p in named}
        layers, prefix = dict(layers or {}), key.rsplit(".", 1)[0] + "." if "." in key else ""
        selector = None
        if mode == "layers":
            selector = LayerSelector(self.hierarchy, layers.pop("rule", "min"), layers.pop("threshold", 0.0),
                                     key=f"{prefix}layers", statistic=layers.pop("statistic", "accumulated"),
                                     sketch_k=layers.pop("probe_sketch_k", 0), seed=seed)
            fixed = layers.pop("fixed", None)
            if fixed is not None:
                if not fixed or set(fixed) - set(groups):
                    raise ConfigError(f"{prefix}layers.fixed", f"unknown or no layer group(s) {list(fixed)}; the "
                                                               f"(trainable) groups: {list(groups)}")
                selector.fix(list(fixed))
        refresh, apply = int(layers.pop("refresh_every", 50)), layers.pop("apply", "layers")
        if layers:
            raise ConfigError(f"{prefix}layers", f"unknown option(s) {sorted(layers)}",
                              choices=["rule", "threshold", "statistic", "fixed", "refresh_every", "apply",
                                       "probe_sketch_k"])
        self.engine = GradientEngine(
            mode, self.hierarchy, groups, selector, refresh, int(update_every),
            reduce=all_reduce_mean if distributed else reduce, layers_apply=apply, on_nonfinite=on_nonfinite,
            linear_heads=linear_heads, batched_vjp=batched_vjp,
            sketch=GramSketch(len(self.names), sketch, seed=seed, kind=sketch_kind, key=f"{prefix}sketch") if sketch
            else None)
        self.double_sampling = (mode != "linear" and self.hierarchy.needs_cross) if double_sampling is None \
            else bool(double_sampling)
        self.steps_per_epoch, self.accumulate, self.distributed = steps_per_epoch, int(accumulate), distributed
        self.step, self.epoch, self.micro = 0, 0, 0
        self.dropped: Counter[str] = Counter()   # objective -> micro-batches it sat out (non-finite values)

    # ------------------------------------------------------------------------------------------------
    def static_weights(self) -> Tensor:
        """w_m = (objective m's static weight) × (its level's penalty scale), now (M,) float64."""
        scales = self.hierarchy.level_scales(self.epoch, self.step)
        w = torch.zeros(len(self.names), dtype=torch.float64)
        for p, idx in enumerate(self.hierarchy.index):
            w[idx] = scales[p] * self.static[idx]
        return w

    def backward(self, losses: Losses, features: Tensor | Sequence[Tensor] | Mapping[str, Any],
                 rows: Mapping[str, Sequence[Tensor]] | None = None) -> StepRecord:
        """Set ``.grad`` for this (micro-)step. ``losses[name]``: per-item losses (B,) — item i read row i of
        its features — or a scalar, or two scalars (l1, l2) on two disjoint halves whose feature rows are
        ``rows[name]``. ``features``: the shared module's output(s) every objective reads, or name → its
        own. Adds to existing ``.grad`` (accumulation); under ``distributed`` the gradients are averaged over
        ranks after the step's last micro-batch."""
        self._check_names(losses)
        terms = self._terms(losses, features, rows or {})
        return self.backward_terms(terms)

    def backward_terms(self, terms: StepTerms, static_weights: Tensor | None = None) -> StepRecord:
        """The same for terms already assembled (soups' trainer: taps, halves and heads from its model)."""
        if self.distributed and terms.sample_weights is not None:
            import torch.distributed as dist  # noqa: PLC0415

            ranks = dist.get_world_size()
            scale_losses_by_items(terms, lambda t: all_reduce_mean(t) * ranks, ranks)
        rec = self.engine.backward(terms, self.epoch, self.step,
                                   static_weights=self.static_weights() if static_weights is None else static_weights)
        self.dropped.update(rec.dropped.keys())
        self.micro += 1
        if self.micro == self.accumulate:
            if self.distributed:
                self._reduce_grads(terms)
            self.micro = 0
            self.step += 1
            if self.steps_per_epoch:
                self.epoch = self.step // self.steps_per_epoch
        return rec

    def set_position(self, step: int, epoch: float) -> None:
        """For loops that keep their own counters (soups' trainer): this step's index and epoch."""
        self.step, self.epoch, self.micro = int(step), epoch, 0

    def layer_jacobians_terms(self, terms: StepTerms) -> dict[str, Tensor]:
        """Per layer group, the per-objective gradients of its parameters (M × P_layer) on these terms (one
        sample); the heads' ``.grad`` are set on the way, the shared ones untouched (``soups conflicts``)."""
        tap_grads = self.engine._heads_backward(terms)
        G = self.engine._jacobians(terms, tap_grads, self.engine.shared)[0].detach()
        return {name: bs[0] for name, bs in self.engine._split_blocks([G], self.engine.layer_groups).items()}

    def new_epoch(self) -> None:
        """Advance the epoch counter (penalty schedules) when ``steps_per_epoch`` is None."""
        self.epoch += 1

    # ------------------------------------------------------------------------------------------------
    def _check_names(self, losses: Losses) -> None:
        if set(losses) != set(self.names):
            raise MOOInputError(f"loss names {sorted(losses)} do not match the objectives {self.names} (missing: "
                                f"{sorted(set(self.names) - set(losses))}, unknown: {sorted(set(losses) - set(self.names))})")

    def _terms(self, losses: Losses, features, rows: Mapping[str, Sequence[Tensor]]) -> StepTerms:
        shared_feats = None if isinstance(features, Mapping) else as_tensor_list(features, "features")
        out = StepTerms([], [], [] if self.double_sampling else None, [], [])
        for name in self.names:
            feats = shared_feats if shared_feats is not None else as_tensor_list(
                self._get(features, name, "features"), f"features[{name!r}]")
            parts, rws, counts = self._samples(name, losses[name], feats, rows.get(name))
            out.losses.append(parts), out.taps.append(feats), out.sample_weights.append(counts)
            if out.sample_rows is not None:
                out.sample_rows.append(rws)
            out.head_params.append(self._head_params(name, parts, feats))
        return out

    @staticmethod
    def _get(mapping: Mapping, name: str, what: str):
        if name not in mapping:
            raise MOOInputError(f"{what} has no entry for objective {name!r} (has: {sorted(mapping)})")
        return mapping[name]

    def _samples(self, name: str, loss, feats: list[Tensor], given_rows) -> tuple[list[Tensor], list[Tensor], list]:
        """The objective's loss per sample (two halves under double sampling, else one), their feature rows
        and item counts."""
        if isinstance(loss, Tensor) and loss.dim() == 1:  # per item: item i ↔ row i of every feature tensor
            n = loss.shape[0]
            bad = [tuple(f.shape) for f in feats if f.dim() == 0 or f.shape[0] != n]
            if bad or n == 0:
                raise MOOInputError(f"objective {name!r}: {n} per-item losses, but its features have shapes {bad} "
                                    "(dim 0 must be the items; or pass a scalar loss)")
            if not self.double_sampling:
                return [loss.mean()], [torch.arange(n)], [float(n)]
            h = (n + 1) // 2
            halves = [torch.arange(0, h), torch.arange(h, n)] if n > 1 else [torch.arange(1), torch.arange(1)]
            return [loss[r].mean() for r in halves], halves, [float(len(r)) for r in halves]
        if isinstance(loss, Tensor) and loss.dim() == 0:
            if self.double_sampling:
                raise MOOInputError(f"objective {name!r}: a scalar loss, but the weighting needs two independent "
                                    "samples (MoDo's double sampling): pass per-item losses (B,), or (l1, l2) with "
                                    "rows=, or double_sampling=False")
            return [loss], [], [1.0]
        if isinstance(loss, Sequence) and len(loss) == 2 and all(isinstance(x, Tensor) and x.dim() == 0 for x in loss):
            if given_rows is None or len(given_rows) != 2:
                raise MOOInputError(f"objective {name!r}: two half losses need rows[{name!r}] = (rows of half 1, "
                                    "rows of half 2) of its features")
            rws = [torch.as_tensor(r, dtype=torch.long) for r in given_rows]
            if not self.double_sampling:
                return [(loss[0] + loss[1]) / 2], [], [1.0]
            return list(loss), rws, [float(len(r)) for r in rws]
        raise MOOInputError(f"objective {name!r}: a loss must be a scalar, per-item losses (B,) or two scalars "
                            f"(l1, l2); got {type(loss).__name__}" + (f" of shape {tuple(loss.shape)}"
                                                                    if isinstance(loss, Tensor) else ""))

    def _head_params(self, name: str, parts: list[Tensor], feats: list[Tensor]) -> list[nn.Parameter]:
        """The objective's own parameters: the trainable leaves between its loss and the features (checked
        every step: the loss must reach the features, and no shared parameter outside them)."""
        reached, leaves = objective_leaves(sum(parts), feats)
        if not reached:
            raise MOOInputError(f"the loss of objective {name!r} does not depend on the shared features")
        inside = [p for p in leaves if id(p) in self.shared_ids]
        if inside:
            raise MOOInputError(f"the loss of objective {name!r} reaches {len(inside)} shared parameter(s) other than "
                                "through the features (e.g. a tied embedding): pass those tensors as features too")
        return [p for p in leaves if p.requires_grad]

    def _reduce_grads(self, terms: StepTerms) -> None:
        """Average every shared and head gradient over the ranks (one flat buffer)."""
        params = list(self.engine.shared) + [p for ps in terms.head_params for p in ps]
        params = list({id(p): p for p in params}.values())
        flat = all_reduce_mean(flatten_grads(params))
        i = 0
        for p in params:
            p.grad = flat[i:i + p.numel()].view_as(p).clone()
            i += p.numel()

    # ------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"engine": self.engine.state_dict(), "step": self.step, "epoch": self.epoch, "micro": self.micro,
                "dropped": dict(self.dropped)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.engine.load_state_dict(state["engine"])
        self.step, self.epoch, self.micro = int(state["step"]), int(state["epoch"]), int(state["micro"])
        self.dropped = Counter(state.get("dropped", {}))
