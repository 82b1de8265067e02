"""The gradient engine: one update of shared and head parameters from per-objective losses.

Generic autograd over "objectives with gradients" (nothing here knows about speech). Each objective m gives
its losses on S independent samples (S = 2 batch halves for MoDo's double sampling, else 1), its *taps* —
the tensors where it meets the shared model (e.g. its own slice of the encoder output) — and its head
parameters. Heads always receive their own objective's gradient, unweighted; the shared parameters receive
d = Σ_m w_m g_m with w from the hierarchy (docs/method.md, "Objectives and the shared update"). Modes:

``linear``    w static (the baseline every toolkit has): the shared model gets the gradient of Σ_m w_m l_m,
              each head its own objective's (``linear_heads="weighted"``: one backward of Σ_m w_m l_m).
``faithful``  exact per-objective gradients of every shared parameter: G1, G2 (M×P) from one VJP per
              objective and sample through the shared model (the taps' cotangents come from one backward
              through the heads); w from the hierarchy on the Gram; d = wᵀ(G1+G2)/2.
``layers``    layer-wise conflict selection: every ``refresh_every`` steps a faithful probe of all layers
              selects the conflicting ones (by default from the gradients of all probes so far, the paper's
              accumulated statistic: layers.py), or the selection is fixed (``selector.fix``: no probes).
              With ``selector.sketch_k`` > 0 the probe streams each gradient into per-layer count sketches
              instead of holding every layer's rows (its memory stays near a plain step's).
              ``layers_apply="layers"`` (reading (a) of the paper): every step takes exact per-objective
              gradients of the selected layers only; they use their own dynamic weights, all others the
              static hierarchy weights (they always get an update). ``layers_apply="encoder"`` (reading
              (b)): λ comes from the selected layers' Gram and weights the whole encoder through ONE
              backward with tap cotangents, as in ``fast``; the per-objective gradients of the selected
              layers are taken on weight-update steps only (``update_every``): ≈ linear cost in between.
``fast``      per-objective gradients at the taps only (MGDA-UB style): the Gram of the tap gradients
              summed over rows and time — exactly the Gram of a shared bias added at the taps — gives w, then
              ONE backward through the shared model with cotangents Σ_m w_m ∂l_m/∂tap. Cost ≈ linear.
``update_every`` N > 1 reuses the last weights for N-1 steps (taps + one shared backward, ≈ linear cost).
``sketch``    (faithful only) each exact per-objective gradient is count-sketched parameter by parameter as it
              is computed, never stored: an unbiased Gram from O(M·k) memory instead of the 2·M×P rows of G,
              then ONE shared backward with the λ-weighted tap cotangents for the direction (sketch.py).

Heads that read detached leaves of their taps (``StepTerms.head_inputs``, what ``MultiTaskModel`` hands over)
are backpropagated first, in a pass that frees their graph; the shared graph is then the only one held
through the shared backward(s), so fast mode's peak memory stays at linear's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from .base import GramInfo
from .hierarchy import Hierarchy
from .layers import LayerSelector
from .record import StepRecord
from .sketch import GramSketch
from .taps import pooled_sample_taps, row_scale, tap_width

MODES = ("linear", "faithful", "layers", "fast")


class NonFiniteStep(Exception):
    """A loss, gradient or Gram of this step is not finite. Raised before any weighting sees it, so λ and the
    other weighting states are unchanged; the caller drops the step's update (the trainer skips and counts it).
    ``objective``: index of the objective that caused it (None: not attributable, e.g. an overflowing Gram)."""

    def __init__(self, objective: int | None, what: str):
        self.objective, self.what = objective, what
        super().__init__(f"non-finite {what}" + ("" if objective is None else f" of objective {objective}"))


def _check_finite(values, what: str) -> None:
    """Raise :class:`NonFiniteStep` naming the first objective ``m`` whose tensors in ``values[m]`` (a
    tensor, a list of tensors or None) are not all finite."""
    for m, v in enumerate(values):
        tensors = [] if v is None else v if isinstance(v, (list, tuple)) else [v]
        if any(not bool(torch.isfinite(t).all()) for t in tensors):
            raise NonFiniteStep(m, what)


@dataclass
class StepTerms:
    """What one training step hands to the engine (M objectives, S samples each).

    Under objective parallelism a process computes only some objectives: the others have no losses and no
    taps here (``losses[m] == []``), and their gradient rows arrive through the engine's ``reduce``.
    ``sample_weights[m][s]`` is how many items loss ``[m][s]`` averages over (for exact global means
    across data-parallel ranks)."""

    losses: list[list[Tensor]]                 # [m][s] scalar losses
    taps: list[list[Tensor]]                   # [m] tensors at which objective m meets the shared model
    sample_rows: list[list[Tensor]] | None     # [m][s] rows (dim 0 of the taps) of each sample; None if S=1
    head_params: list[list[nn.Parameter]]      # [m] the objective's own parameters
    sample_weights: list[list[float]] | None = None
    head_inputs: list[list[Tensor]] | None = None  # [m] leaves the heads read (detached copies of the taps)
    # [m][j] the sample that tap j of objective m belongs to, when each sample has taps of its own (one
    # encoder call per batch half: a sample's VJP then traverses only its own half's graph); None for an
    # objective whose samples share its taps (``sample_rows`` picks their rows)
    tap_samples: list[list[int] | None] | None = None

    @property
    def num_samples(self) -> int:
        return max(len(ls) for ls in self.losses)

    @property
    def local(self) -> list[bool]:
        return [bool(ls) for ls in self.losses]

    def own_taps(self, m: int) -> list[int] | None:
        """The sample of each of objective m's taps, or None when its samples share the taps."""
        return self.tap_samples[m] if self.tap_samples is not None else None

    def mean_losses(self) -> list[Tensor | None]:
        return [sum(ls) / len(ls) if ls else None for ls in self.losses]


@dataclass
class GradientEngine:
    mode: str
    hierarchy: Hierarchy
    layer_groups: dict[str, list[nn.Parameter]]   # shared parameters by layer (each in exactly one group)
    selector: LayerSelector | None = None
    refresh_every: int = 50
    update_every: int = 1
    reduce: Callable[[Tensor], Tensor] | None = None   # distributed mean of Gram/grad tensors (None: 1 process)
    last_weights: Tensor | None = None
    last_layer_weights: dict[str, Tensor] = field(default_factory=dict)
    sketch: GramSketch | None = None                   # faithful mode: sketched Gram (moo.sketch.k > 0)
    linear_heads: str = "own"                          # linear mode: "own" gradient per head, or "weighted"
    layers_apply: str = "layers"                       # layers mode: reading (a) "layers" or (b) "encoder"
    on_nonfinite: str = "raise"                        # "raise" (NonFiniteStep) or "drop" the objective (backward)
    batched_vjp: bool = False                          # per-objective gradients in one vmapped backward (opt-in)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose from {MODES}")
        if self.layers_apply not in ("layers", "encoder"):
            raise ValueError(f"layers_apply must be 'layers' or 'encoder', got {self.layers_apply!r}")
        if self.on_nonfinite not in ("raise", "drop"):
            raise ValueError(f"on_nonfinite must be 'raise' or 'drop', got {self.on_nonfinite!r}")
        if self.linear_heads not in ("own", "weighted"):
            raise ValueError(f"linear_heads must be 'own' or 'weighted', got {self.linear_heads!r}")
        if self.sketch is not None and self.mode != "faithful":
            raise ValueError(f"a sketched Gram needs mode 'faithful', got {self.mode!r}")
        if self.mode == "layers" and self.selector is None:
            self.selector = LayerSelector(self.hierarchy)
        self.static = self.hierarchy.static()
        self.shared = [p for ps in self.layer_groups.values() for p in ps]

    # ------------------------------------------------------------------------------------------------
    def backward(self, terms: StepTerms, epoch: float, step: int, static_weights: Tensor | None = None) -> StepRecord:
        """Set ``.grad`` of shared and head parameters for this step; returns what it did (:class:`StepRecord`).

        Non-finite values (``on_nonfinite``): ``"raise"`` — a non-finite loss, tap gradient or Gram raises
        :class:`NonFiniteStep` before any weighting sees it (``.grad`` may then hold partial values: drop the
        step); linear mode then runs no check and leaves non-finite values to the caller's gradient-norm check
        (which every data-parallel rank takes alike, after the reduction). ``"drop"`` — an objective whose loss
        or gradients are not finite sits the step out (weight 0, head not updated, named in ``dropped``) and
        the others are combined with the last weights (static ones before the first update): λ stays as it
        was; under ``reduce`` the ranks agree on what to drop."""
        rec = StepRecord(list(self.hierarchy.objectives), None, step, epoch, self.mode,
                         penalties=self.hierarchy.penalty_values(epoch, step),
                         lambdas=[None] * len(self.hierarchy.levels))
        static = static_weights if static_weights is not None else self.static.static_weights(epoch, step)
        if self.mode == "linear" and self.linear_heads == "weighted":
            sum(float(static[m]) * l for m, l in enumerate(terms.mean_losses()) if l is not None).backward()
            rec.weights = static
            return rec
        check = self.mode != "linear" or self.on_nonfinite == "drop"
        tap_grads, dropped = self._heads_and_drops(terms, check)
        rec.dropped = {rec.names[m]: what for m, what in dropped.items()}
        if self.mode == "linear" or dropped:
            w = static if self.mode == "linear" or self.last_weights is None else self.last_weights
            rec.weights = w.clone()
            rec.weights[list(dropped)] = 0
            self._shared_backward(terms, tap_grads, rec.weights)
            return rec
        per_layer = self.mode == "layers" and self.layers_apply == "layers"   # reading (a): λ per layer
        rec.updated = step % self.update_every == 0 or not (self.last_layer_weights if per_layer
                                                             else self.last_weights is not None)
        if self.mode == "layers":
            self._layers_backward(terms, tap_grads, rec)
        elif self.mode == "fast" and rec.updated:
            self.last_weights = self.hierarchy.weights(self._finite(self._tap_grams(terms, tap_grads)), epoch, step)
        elif self.mode == "faithful" and rec.updated and self.sketch is not None:
            grams = self._finite(self._sketched_grams(terms, tap_grads))
            self.last_weights, rec.gram = self.hierarchy.weights(grams, epoch, step), grams.K
        elif self.mode == "faithful" and rec.updated:
            G = self._jacobians(terms, tap_grads, self.shared)
            _check_finite([g for g in G[0]], "gradient")
            grams = self._finite(self._gram(G))
            self.last_weights, rec.gram = self.hierarchy.weights(grams, epoch, step), grams.K
            self._assign(self.shared, self._combine(G, self.last_weights, terms.local))
            rec.weights = self.last_weights
        if rec.weights is None:  # fast, sketched or reused weights: one backward with λ-weighted tap cotangents
            rec.weights = self.last_weights
            self._shared_backward(terms, tap_grads, self.last_weights)
        if rec.updated and not per_layer:
            rec.lambdas = list(self.hierarchy.last_lambdas)
        return rec

    @staticmethod
    def _finite(info: GramInfo) -> GramInfo:
        """``info`` if its Grams are finite, else :class:`NonFiniteStep` (e.g. finite gradients whose inner
        products overflow)."""
        for K in (info.K, info.K12):
            if K is not None and not bool(torch.isfinite(K).all()):
                raise NonFiniteStep(None, "Gram")
        return info

    # ------------------------------------------------------------------------------------------------
    def _heads_backward(self, terms: StepTerms) -> list[list[Tensor]]:
        """:meth:`_heads_and_drops` with every check on: the taps' gradients."""
        return self._heads_and_drops(terms, True)[0]

    def _heads_and_drops(self, terms: StepTerms, check: bool) -> tuple[list[list[Tensor]], dict[int, str]]:
        """Backward through the heads only: each head gets its objective's (mean over samples) gradient;
        returns ∂l_m/∂tap for every objective's taps, and the objectives dropped for non-finite values
        (``check`` and ``on_nonfinite="drop"``; ``"raise"`` raises instead). The shared graph is kept for the
        engine's shared backward(s); the heads' own graph is freed here when they read detached leaves
        (``head_inputs``). Objectives that read the same tap tensor take one backward each (their
        cotangents at it must stay apart); otherwise one backward serves all."""
        losses, taps = terms.mean_losses(), terms.head_inputs or terms.taps
        heads = [[p for p in ps if p.requires_grad] for ps in terms.head_params]
        bad: dict[int, str] = {}
        if check:
            for m, l in enumerate(losses):
                if l is not None and not bool(torch.isfinite(l).all()):
                    bad[m] = self._nonfinite(m, "loss")
        keep = [m for m, l in enumerate(losses) if l is not None and m not in bad]
        tap_ids = [id(t) for m in keep for t in taps[m]]
        calls = [[m] for m in keep] if len(set(tap_ids)) < len(tap_ids) else [keep]
        tap_g: dict[int, list[Tensor | None]] = {}
        head_g: dict[int, list[Tensor | None]] = {}
        for ms in calls:
            inputs = [t for m in ms for t in taps[m] if t.requires_grad] + [p for m in ms for p in heads[m]]
            out = iter(torch.autograd.grad(sum(losses[m] for m in ms), inputs, retain_graph=terms.head_inputs is None,
                                           allow_unused=True) if inputs else [])
            tap_g.update({m: [next(out) if t.requires_grad else None for t in taps[m]] for m in ms})
            head_g.update({m: [next(out) for _ in heads[m]] for m in ms})
        if check:
            for m in keep:
                if any(g is not None and not bool(torch.isfinite(g).all()) for g in tap_g[m] + head_g[m]):
                    bad[m] = self._nonfinite(m, "gradient")
        if check and self.on_nonfinite == "drop" and self.reduce is not None:  # every rank drops the same ones
            device = next((l.device for l in losses if l is not None), torch.device("cpu"))
            flags = torch.zeros(len(losses), dtype=torch.float64, device=device)
            flags[list(bad)] = 1.0
            bad.update({m: "loss or gradient on another rank" for m in range(len(losses))
                        if m not in bad and float(self.reduce(flags)[m]) > 0})
        for m in keep:
            if m not in bad:
                for p, g in zip(heads[m], head_g[m]):
                    if g is not None:
                        p.grad = g if p.grad is None else p.grad + g
        tap_grads = [[g if m not in bad and g is not None else torch.zeros_like(t)
                      for t, g in zip(ts, tap_g.get(m, [None] * len(ts)))] for m, ts in enumerate(terms.taps)]
        return tap_grads, bad

    def _nonfinite(self, m: int, what: str) -> str:
        """``what`` for the drop record, or :class:`NonFiniteStep` (``on_nonfinite="raise"``)."""
        if self.on_nonfinite == "raise":
            raise NonFiniteStep(m, what)
        return what

    def _sample_cotangents(self, terms: StepTerms, tap_grads, m: int) -> list[list[Tensor | None]]:
        """Per sample s: the cotangents of objective m's taps for the gradient of its loss on sample s
        (None at a tap of another sample: :attr:`StepTerms.tap_samples`).

        ``tap_grads`` belong to the mean over samples (1/S Σ_s l_m^s); rows (or taps) of different samples
        are disjoint, so the gradient of l_m^s alone is S × (its rows of the tap gradient)."""
        if not terms.local[m]:
            return [[] for _ in range(terms.num_samples)]
        own = terms.own_taps(m)
        if own is not None:
            S = terms.num_samples
            return [[g * S if own[j] == s else None for j, g in enumerate(tap_grads[m])] for s in range(S)]
        if terms.sample_rows is None or terms.num_samples == 1:
            return [tap_grads[m]]
        scale = row_scale(terms, m)
        out = []
        for rows in terms.sample_rows[m]:
            cots = []
            for g in tap_grads[m]:
                c = torch.zeros_like(g)
                c[rows] = g[rows] * scale[rows].to(g).view(-1, *([1] * (g.dim() - 1)))
                cots.append(c)
            out.append(cots)
        return out

    def _jacobians(self, terms, tap_grads, params: list[nn.Parameter]) -> list[Tensor]:
        """G_s (M × P) for each sample s: rows = exact per-objective gradients of ``params``."""
        if self.batched_vjp:
            return self._batched_jacobians(terms, tap_grads, params)
        per_sample: list[list[Tensor]] = [[] for _ in range(max(1, terms.num_samples))]
        size = sum(p.numel() for p in params)
        for m in range(len(terms.taps)):
            for s, cots in enumerate(self._sample_cotangents(terms, tap_grads, m)):
                if not cots:  # computed by another process: a zero row, filled in by ``reduce``
                    per_sample[s].append(params[0].new_zeros(size))
                    continue
                grads = self._vjp(terms.taps[m], cots, params)
                per_sample[s].append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                                for p, g in zip(params, grads)]))
        G = [torch.stack(rows) for rows in per_sample]
        return [self.reduce(g) for g in G] if self.reduce is not None else G

    @staticmethod
    def _vjp(taps: list[Tensor], cots: list[Tensor | None], params: list[nn.Parameter]) -> tuple:
        """Gradients of ``params`` for cotangents ``cots`` at ``taps`` (taps without one are left out, so the
        backward does not traverse their graph); the graph is kept."""
        pairs = [(t, c) for t, c in zip(taps, cots) if c is not None]
        return torch.autograd.grad([t for t, _ in pairs], params, [c for _, c in pairs], retain_graph=True,
                                   allow_unused=True)

    def _batched_jacobians(self, terms, tap_grads, params: list[nn.Parameter]) -> list[Tensor]:
        """:meth:`_jacobians` in ONE backward batched over the M·S cotangents (``is_grads_batched``: vmap over
        the shared backward, as torchjd does): row (m, s) has objective m's cotangents at its own taps and
        zeros elsewhere. Faster where the shared model's operations have batching rules; holds M·S copies of
        the backward's intermediate gradients at once."""
        S, M = max(1, terms.num_samples), len(terms.taps)
        cots = [self._sample_cotangents(terms, tap_grads, m) for m in range(M)]
        local = [m for m in range(M) if cots[m] and cots[m][0]]
        size = sum(p.numel() for p in params)
        flat = params[0].new_zeros(len(local) * S, size)
        if local:
            taps = [t for m in local for t in terms.taps[m]]
            batched = [torch.stack([cots[k][s][j] if k == m and cots[k][s][j] is not None else torch.zeros_like(tap)
                                    for k in local for s in range(S)])
                       for m in local for j, tap in enumerate(terms.taps[m])]
            grads = torch.autograd.grad(taps, params, batched, retain_graph=True, allow_unused=True,
                                        is_grads_batched=True)
            flat = torch.cat([(g if g is not None else flat.new_zeros(len(local) * S, p.numel())).reshape(len(local) * S, -1)
                              for p, g in zip(params, grads)], 1)
        zero = params[0].new_zeros(size)  # another process's objective: a zero row, filled in by ``reduce``
        G = [torch.stack([flat[local.index(m) * S + s] if m in local else zero for m in range(M)]) for s in range(S)]
        return [self.reduce(g) for g in G] if self.reduce is not None else G

    def _sketched_grams(self, terms: StepTerms, tap_grads) -> GramInfo:
        """The Gram of the exact per-objective gradients (as :meth:`_jacobians`) through a fresh sketch;
        each gradient is folded in parameter by parameter and dropped."""
        sk = self.sketch
        sk.reset()
        for m in range(len(terms.taps)):
            for s, cots in enumerate(self._sample_cotangents(terms, tap_grads, m)):
                if not cots:  # another process's objective: its row arrives through ``reduce``
                    continue
                grads = self._vjp(terms.taps[m], cots, self.shared)
                for i, g in enumerate(grads):
                    if g is not None:
                        sk.add_row(m, i, g, sample=s)
        zeros = self.shared[0].new_zeros(len(terms.taps), sk.k)
        S = [sk.S1 if sk.S1 is not None else zeros] + ([sk.S2 if sk.S2 is not None else zeros]
                                                        if terms.num_samples > 1 else [])
        if self.reduce is not None:
            S = [self.reduce(x) for x in S]
        sk.S1, sk.S2 = S[0], (S[1] if len(S) > 1 else None)
        return sk.gram_info()

    @staticmethod
    def _gram(G: list[Tensor]) -> GramInfo:
        return GramInfo.from_jacobians(G[0], G[1] if len(G) > 1 else None)

    @staticmethod
    def _combine(G: list[Tensor], w: Tensor, local: list[bool] | None = None) -> Tensor:
        """d = wᵀ mean_s(G_s) (docs/method.md, "MoDo": λᵀ(G1 + G2)/2), over this process's objectives only
        (``local``): under objective parallelism the processes' parts are summed afterwards."""
        w = w.to(G[0])
        if local is not None and not all(local):
            w = w * torch.tensor(local, dtype=w.dtype, device=w.device)
        return sum(w @ g for g in G) / len(G)   # λᵀG1 + λᵀG2: no (M × P) copy of the mean

    @staticmethod
    def _assign(params: list[nn.Parameter], flat: Tensor) -> None:
        i = 0
        for p in params:
            g = flat[i:i + p.numel()].view_as(p)
            p.grad = g.clone() if p.grad is None else p.grad + g
            i += p.numel()

    def _shared_backward(self, terms: StepTerms, tap_grads, w: Tensor) -> None:
        """ONE backward through the shared model with cotangents Σ_m w_m ∂l_m/∂tap."""
        pairs = [(t, float(w[m]) * g) for m, (ts, gs) in enumerate(zip(terms.taps, tap_grads))
                 for t, g in zip(ts, gs) if t.requires_grad]
        if pairs:
            torch.autograd.backward([t for t, _ in pairs], [c for _, c in pairs])

    def _tap_grams(self, terms: StepTerms, tap_grads) -> GramInfo:
        """Gram of tap gradients summed over all but the last dim (the Gram of a virtual shared bias)."""
        vecs: list[list[Tensor]] = [[] for _ in range(max(1, terms.num_samples))]
        width = tap_width(terms)
        for m in range(len(terms.taps)):
            for s, vec in enumerate(pooled_sample_taps(terms, tap_grads, m)):
                vecs[s].append(vec if vec is not None else self.shared[0].new_zeros(width))
        G = [torch.stack(v) for v in vecs]
        if self.reduce is not None:
            G = [self.reduce(g) for g in G]
        return self._gram(G)

    def _layers_backward(self, terms, tap_grads, rec: StepRecord) -> None:
        """Layer-wise conflict selection (see the module docstring); fills ``rec``."""
        blocks, epoch, step = None, rec.epoch, rec.step
        probe = self.selector.fixed is None and (step % self.refresh_every == 0 or not self.selector.scores)
        if probe and self.selector.sketch_k:  # streamed: every layer's gradients sketched as they come, none held
            self.selector.select_from_sketches(self._streamed_probe(terms, tap_grads))
            rec.layer_scores = dict(self.selector.scores)
        elif probe:  # every layer's per-objective gradients
            blocks = self._split_blocks(self._jacobians(terms, tap_grads, self.shared), self.layer_groups)
            grams = [self._finite(self._gram(bs)) for bs in blocks.values()]  # checked before the running sums
            self.selector.select_from_blocks({name: sum(bs) / len(bs) for name, bs in blocks.items()})
            rec.layer_scores, rec.gram = dict(self.selector.scores), sum(grams[1:], grams[0]).K
        rec.selected = selected = [n for n in self.layer_groups if n in self.selector.selected]
        if selected and blocks is None and (self.layers_apply == "layers" or rec.updated):
            # exact per-objective gradients of the selected layers only — or, in reading (a) when the input-side
            # layer is selected, of every layer: those VJPs traverse the whole encoder anyway, and the rows
            # replace the static backward (below)
            every = self.layers_apply == "layers" and next(iter(self.layer_groups)) in selected
            groups = self.layer_groups if every else {n: self.layer_groups[n] for n in selected}
            blocks = self._split_blocks(self._jacobians(terms, tap_grads, [p for ps in groups.values() for p in ps]),
                                        groups)
        grams = {name: self._finite(self._gram(blocks[name])) for name in selected} if blocks else {}
        if self.layers_apply == "encoder":  # reading (b): λ from the selected layers' Gram, on the whole encoder
            if rec.updated:
                self.last_weights = (self.hierarchy.weights(sum(list(grams.values())[1:], grams[selected[0]]), epoch,
                                                            step) if selected else self.static.static_weights(epoch, step))
            rec.weights = self.last_weights
            self._shared_backward(terms, tap_grads, self.last_weights)
            return
        rec.weights = static_w = self.static.static_weights(epoch, step)
        for name in selected:
            if rec.updated or name not in self.last_layer_weights:
                self.last_layer_weights[name] = self.selector.weights_for(name, grams[name], epoch, step)
        if blocks is not None and len(blocks) == len(self.layer_groups):  # every layer's rows at hand: combine
            for name, bs in blocks.items():                                # them, no static backward
                w = self.last_layer_weights[name] if name in selected else static_w
                self._assign(self.layer_groups[name], self._combine(bs, w, terms.local))
            return
        # what earlier micro-batches accumulated in the selected layers (train.accumulate), kept through the
        # static backward, whose contribution to these layers is replaced by the dynamic one below
        before = {id(p): None if p.grad is None else p.grad.clone() for n in selected for p in self.layer_groups[n]}
        self._shared_backward(terms, tap_grads, static_w)  # every layer gets the static update …
        for name in selected:                               # … replaced by the dynamic one where conflicting
            for p in self.layer_groups[name]:
                p.grad = before[id(p)]
            self._assign(self.layer_groups[name],
                         self._combine(blocks[name], self.last_layer_weights[name], terms.local))

    def _streamed_probe(self, terms: StepTerms, tap_grads) -> dict:
        """A probe of every layer that never holds a layer's rows: each (objective, sample) VJP of the whole
        shared model is folded parameter by parameter into its layer's count sketch and dropped
        (:meth:`LayerSelector.probe_sketches`); the sketches are reduced across processes like G."""
        sketches = self.selector.probe_sketches(self.layer_groups)
        owner = [(name, i) for name, ps in self.layer_groups.items() for i in range(len(ps))]
        for m in range(len(terms.taps)):
            for s, cots in enumerate(self._sample_cotangents(terms, tap_grads, m)):
                if not cots:  # another process's objective: its rows arrive through ``reduce``
                    continue
                for (name, i), g in zip(owner, self._vjp(terms.taps[m], cots, self.shared)):
                    if g is not None:
                        sketches[name].add_row(m, i, g, sample=s)
        zeros = self.shared[0].new_zeros(len(terms.taps), self.selector.sketch_k)
        for sk in sketches.values():
            S = [sk.S1 if sk.S1 is not None else zeros] + ([sk.S2 if sk.S2 is not None else zeros]
                                                            if terms.num_samples > 1 else [])
            if self.reduce is not None:
                S = [self.reduce(x) for x in S]
            if not all(bool(torch.isfinite(x).all()) for x in S):
                raise NonFiniteStep(None, "Gram")
            sk.S1, sk.S2 = S[0], (S[1] if len(S) > 1 else None)
        return sketches

    @staticmethod
    def _split_blocks(G: list[Tensor], groups: dict[str, list[nn.Parameter]]) -> dict[str, list[Tensor]]:
        out, i = {}, 0
        for name, ps in groups.items():
            n = sum(p.numel() for p in ps)
            out[name] = [g[:, i:i + n] for g in G]
            i += n
        return out

    # ------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"hierarchy": self.hierarchy.state_dict(),
                "selector": self.selector.state_dict() if self.selector is not None else None,
                "last_weights": self.last_weights,
                "last_layer_weights": dict(self.last_layer_weights),
                "sketch": self.sketch.state_dict() if self.sketch is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.hierarchy.load_state_dict(state["hierarchy"])
        if self.selector is not None and state.get("selector") is not None:
            self.selector.load_state_dict(state["selector"])
        self.last_weights = state.get("last_weights")
        self.last_layer_weights = dict(state.get("last_layer_weights") or {})
        if self.sketch is not None and state.get("sketch") is not None:
            self.sketch.load_state_dict(state["sketch"])
