"""Step time of soups.moo.MultiObjective against torchjd's two calls on the same plain PyTorch model (the side by
side of docs/moo-api.md): an MLP encoder shared by M regression heads, one thread, the cases interleaved round
by round so that machine load hits them alike; prints JSON with medians and ratios to a plain backward of the
summed losses.

    python scripts/moo_api_vs_torchjd.py --rounds 30 > /tmp/side_by_side.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn
from torchjd.aggregation import UPGrad, UPGradWeighting
from torchjd.autojac import jac_to_grad, mtl_backward

from soups.moo import MultiObjective


def build(width: int, depth: int, m: int):
    torch.manual_seed(0)
    layers = [nn.Linear(64, width), nn.ReLU()] + [m_ for _ in range(depth - 1) for m_ in (nn.Linear(width, width), nn.ReLU())]
    return nn.Sequential(*layers), nn.ModuleList([nn.Linear(width, 1) for _ in range(m)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--objectives", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    enc, heads = build(args.width, args.depth, args.objectives)
    names = [f"o{i}" for i in range(args.objectives)]
    x, y = torch.randn(args.batch, 64), torch.randn(args.batch, args.objectives)

    def forward():
        f = enc(x)
        return {n: (h(f).squeeze(-1) - y[:, i]) ** 2 for i, (n, h) in enumerate(zip(names, heads))}, f

    soups_upgrad = MultiObjective(names, enc, {"weighting": UPGradWeighting()}, mode="faithful")
    soups_fast = MultiObjective(names, enc, {"formulation": "vs", "weighting": "modo"}, mode="fast")
    soups_faithful = MultiObjective(names, enc, {"formulation": "vs", "weighting": "modo"}, mode="faithful")

    def plain():
        losses, _ = forward()
        sum(v.mean() for v in losses.values()).backward()

    def torchjd_upgrad():
        losses, f = forward()
        mtl_backward([v.mean() for v in losses.values()], features=f)
        jac_to_grad(list(enc.parameters()), UPGrad())

    cases = {"plain backward": plain, "torchjd mtl_backward + UPGrad": torchjd_upgrad,
             "soups faithful + torchjd UPGradWeighting": lambda: soups_upgrad.backward(*forward()),
             "soups fast MoDo": lambda: soups_fast.backward(*forward()),
             "soups faithful MoDo": lambda: soups_faithful.backward(*forward())}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for r in range(args.rounds + 3):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            enc.zero_grad(set_to_none=True), heads.zero_grad(set_to_none=True)
            if r >= 3:  # warm-up rounds left out
                times[name].append(dt)
    base = statistics.median(times["plain backward"])
    print(json.dumps({"args": vars(args), "torch": torch.__version__,
                      "median_s": {k: round(statistics.median(v), 5) for k, v in times.items()},
                      "ratio_to_plain": {k: round(statistics.median(v) / base, 2) for k, v in times.items()}}, indent=1))


if __name__ == "__main__":
    main()
