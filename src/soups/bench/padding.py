"""``soups bench data --padding CONFIG``: how much of the joint encoder pass is padding.

The joint encoder pass (``train.encoder_forward``) pads every step's utterances, from all streams, to the
longest one. This bench draws an experiment's batches (sources, batch size and seeds from its config, without
the CTC feasibility filter, which needs trained tokenizers) and reports, per window of steps, the share of
utterance seconds among the padded seconds — with the streams synchronised as training uses them (shared
duration bins and epoch length, :func:`soups.data.streams.synchronise`) and, for comparison, with each stream
on its own epochs and bins (how training drew batches before)::

    soups bench data --padding configs/demo.yaml --skip-throughput --json     # ~12 s on the small corpus

>>> bench_padding("configs/demo.yaml", steps=200, window=100)      # doctest: +SKIP
{'config': 'configs/demo.yaml', 'steps': 200, 'window': 100, 'synchronised': [0.87, 0.88], ...}
"""

from __future__ import annotations

from types import SimpleNamespace


def _useful_fractions(streams: dict, steps: int, window: int) -> list[float]:
    out, useful, padded = [], 0.0, 0.0
    for step in range(1, steps + 1):
        durations = [c.duration for s in streams.values() for c in s.next_batch().cuts]
        useful, padded = useful + sum(durations), padded + len(durations) * max(durations)
        if step % window == 0:
            out.append(round(useful / padded, 3))
            useful, padded = 0.0, 0.0
    return out


def bench_padding(config: str, steps: int = 600, window: int = 100, overrides: tuple[str, ...] = ()) -> dict:
    """Utterance share of the padded joint batch per ``window`` steps, synchronised streams vs own epochs."""
    from soups.data.streams import Stream
    from soups.train import build
    from soups.train.config import load_config

    cfg = load_config(config, list(overrides))
    result: dict = {"config": str(config), "steps": steps, "window": window}
    for name, sync in (("synchronised", True), ("own_epochs", False)):
        streams = {n: Stream(sc, lambda _, cuts: SimpleNamespace(cuts=cuts))
                   for n, sc in build.stream_configs(cfg).items()}
        if sync:
            build.synchronise_streams(cfg, streams)
        result[name] = _useful_fractions(streams, steps, window)
        result[f"{name}_mean"] = round(sum(result[name]) / len(result[name]), 3)
    return result
