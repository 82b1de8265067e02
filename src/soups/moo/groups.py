"""What a user's model is made of, for :class:`soups.moo.MultiObjective`: layer groups of the shared module
(derived or given, and checked) and each objective's own parameters (found in the autograd graph between its
loss and the shared features, as torchjd's ``mtl_backward`` does).

>>> from torch import nn
>>> enc = nn.Sequential(nn.Linear(4, 8), nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)]))
>>> list(layer_groups_of(enc))
['0', '1.0', '1.1']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..errors import SoupsError


class MOOInputError(SoupsError, ValueError):
    """What a caller handed :class:`soups.moo.MultiObjective` does not fit (names, shapes, graph)."""


def layer_groups_of(module: nn.Module) -> dict[str, list[nn.Parameter]]:
    """One group per layer: each element of a ``ModuleList``/``Sequential`` child (``"blocks.3"``), each other
    direct child as a whole (``"frontend"``), the module's own parameters as ``"(own)"``. Trainable only; empty
    groups left out."""
    groups: dict[str, list[nn.Parameter]] = {}
    own = [p for p in module.parameters(recurse=False) if p.requires_grad]
    if own:
        groups["(own)"] = own
    for name, child in module.named_children():
        parts = child.named_children() if isinstance(child, (nn.ModuleList, nn.Sequential)) else [("", child)]
        for sub, layer in parts:
            params = [p for p in layer.parameters() if p.requires_grad]
            if params:
                groups[f"{name}.{sub}" if sub else name] = params
    return groups


def resolve_layer_groups(shared: Sequence[tuple[str, nn.Parameter]],
                         groups: Mapping[str, nn.Module | Iterable[nn.Parameter] | Iterable[str]] | None,
                         module: nn.Module | None) -> dict[str, list[nn.Parameter]]:
    """The layer groups, checked: every trainable shared parameter in exactly one group. ``groups`` values: a
    module, parameters, or parameter-name prefixes of ``shared`` (``"blocks.0"`` takes ``blocks.0.*``); None:
    :func:`layer_groups_of` the module (one group ``"shared"`` when the shared part is given as parameters)."""
    trainable = [(n, p) for n, p in shared if p.requires_grad]
    if groups is None:
        resolved = layer_groups_of(module) if module is not None else {"shared": [p for _, p in trainable]}
    else:
        resolved = {str(k): _group_params(k, v, trainable) for k, v in groups.items()}
    names = {id(p): n for n, p in trainable}
    seen: dict[int, str] = {}
    for group, params in resolved.items():
        for p in params:
            if id(p) not in names:
                raise MOOInputError(f"layer group {group!r} holds a parameter {tuple(p.shape)} that is not a "
                                    "trainable shared parameter")
            if id(p) in seen and seen[id(p)] != group:
                raise MOOInputError(f"shared parameter {names[id(p)]!r} is in two layer groups: {seen[id(p)]!r} "
                                    f"and {group!r}")
            seen[id(p)] = group
    missing = [n for n, p in trainable if id(p) not in seen]
    if missing:
        raise MOOInputError(f"{len(missing)} trainable shared parameter(s) in no layer group (they would get no "
                            f"gradient): {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}")
    return {g: list({id(p): p for p in ps}.values()) for g, ps in resolved.items() if ps}


def _group_params(group, value, trainable: Sequence[tuple[str, nn.Parameter]]) -> list[nn.Parameter]:
    if isinstance(value, nn.Module):
        return [p for p in value.parameters() if p.requires_grad]
    if isinstance(value, (str, nn.Parameter, Tensor)):
        value = [value]
    out: list[nn.Parameter] = []
    for v in value:
        if isinstance(v, str):
            hit = [p for n, p in trainable if n == v or n.startswith(v + ".")]
            if not hit:
                raise MOOInputError(f"layer group {group!r}: no trainable shared parameter named {v!r} (or under it)")
            out += hit
        elif isinstance(v, Tensor) and v.requires_grad:
            out.append(v)
    return out


def objective_leaves(loss: Tensor, features: Sequence[Tensor]) -> tuple[bool, list[Tensor]]:
    """Walk ``loss``'s autograd graph, stopping at the ``features``: (whether it reaches them, the trainable
    leaf tensors met on the way — the objective's own parameters, or shared ones used outside the features)."""
    stops = {t.grad_fn for t in features if t.grad_fn is not None}
    leaf_ids = {id(t) for t in features if t.grad_fn is None}
    reached, leaves, seen, stack = False, {}, set(), [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if fn in stops:
            reached = True
            continue
        var = getattr(fn, "variable", None)  # AccumulateGrad: a leaf tensor
        if var is not None:
            if id(var) in leaf_ids:
                reached = True
            else:
                leaves[id(var)] = var
            continue
        stack.extend(f for f, _ in fn.next_functions)
    return reached, list(leaves.values())


def as_tensor_list(x: Tensor | Sequence[Tensor], what: str) -> list[Tensor]:
    """One tensor or a sequence of them, each needing a gradient."""
    xs = [x] if isinstance(x, Tensor) else list(x)
    if not xs or not all(isinstance(t, Tensor) for t in xs):
        raise MOOInputError(f"{what} must be a tensor or a non-empty sequence of tensors")
    if not any(t.requires_grad for t in xs):
        raise MOOInputError(f"{what} do not require grad: pass the shared module's output, not a detached copy")
    return xs


def all_reduce_mean(t: Tensor) -> Tensor:
    """Mean over the ranks of the default process group (``torch.distributed``), in place on a copy."""
    import torch.distributed as dist  # noqa: PLC0415 — only under distributed use

    out = t.detach().contiguous().clone()
    dist.all_reduce(out)
    return out / dist.get_world_size()


def scale_losses_by_items(terms, all_reduce_sum: Callable[[Tensor], Tensor], world_size: int) -> None:
    """Data parallel: every loss ``[m][s]`` of ``terms`` (a StepTerms) × ranks × (items here / items on all
    ranks), so that the ranks' mean gradient is the gradient of the global batch's mean loss (shards of unequal
    size included, an empty one weighted 0). ``all_reduce_sum``: the sum over the ranks of a tensor."""
    local = torch.tensor(terms.sample_weights, dtype=torch.float64)
    total = all_reduce_sum(local.clone())
    scale = torch.where(total > 0, world_size * local / total.clamp(min=1e-12), torch.zeros_like(local))
    terms.losses = [[loss * float(scale[m, s]) for s, loss in enumerate(ls)] for m, ls in enumerate(terms.losses)]


def flatten_grads(params: Sequence[Tensor]) -> Tensor:
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
