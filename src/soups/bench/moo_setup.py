"""What ``soups bench moo`` runs: the real model, objectives and gradient engine built through
:mod:`soups.train.build` from an :class:`~soups.train.config.ExperimentConfig`, fed synthetic batches.

Batches are made in memory (no corpus): per stream ``n`` utterances of random CMVN-like features
(``N(0, 1)``, 80 bins) with lengths drawn in ``[0.85, 1.15] × seconds``, random ASR / translation token ids
that always fit CTC (≤ 1 token per 3 encoder frames), the SSL stream masked once by BEST-RQ's ``prepare``.
They are built once from a fixed seed, so every mode (every subprocess) sees identical batches and an
identically initialised model. Tokenizers are faked (only ``vocab_size`` is read when building the model).

One step (:func:`train_step`) mirrors :func:`soups.train.step.train_step` without the data side (no batch
fetching, SpecAugment or logging): the encoder forward (``train.encoder_forward``: per stream for MoDo and
torchjd, per batch half for faithful/layers MoDo), every objective's loss (on two batch halves for the dynamic modes), the engine's backward, gradient
clipping, AdamW. ``torchjd`` replaces the engine by :class:`TorchJDEngine` (its heads read the encoder's own
graph: ``split_heads=False``). The helpers at the end measure memory inside the worker processes.
"""

from __future__ import annotations

import dataclasses
import re

import torch

from soups.data.batch import Batch
from soups.data.tokenizer import NUM_SPECIAL
from soups.moo.record import StepRecord
from soups.train import build
from soups.train.step import forward_terms
from soups.train.config import ExperimentConfig, load_config

# The 10 objectives of the paper's CoVoST 2 setup (configs/demo.yaml): 5 ASR CTC, 4 X->En decoders, BEST-RQ.
SUITE = ([{"name": f"asr_{lang}", "task": "asr", "lang": lang} for lang in ("en", "fr", "de", "es", "ca")]
         + [{"name": f"st_{lang}_en", "task": "st", "lang": lang, "head": "decoder"} for lang in ("fr", "de", "es", "ca")]
         + [{"name": "ssl", "task": "ssl", "head": "bestrq"}])
# Model overrides on the `tiny` preset (d=144, 4 blocks, 1-layer decoders). "mid": d=256, 6 blocks. "hf": a
# transformers backbone (model.encoder.kind=hf; by default `hf_backbone`'s random Wav2Vec2 of mid's width/depth).
MODELS = {
    "tiny": {},
    "mid": {"encoder": {"d_model": 256, "num_blocks": 6, "num_heads": 4, "subsampling_channels": 64},
            "decoder": {"ff_dim": 1024}},
    "hf": {"decoder": {"ff_dim": 1024}},
}
HF_BACKBONE = "runs/bench-hf/wav2vec2-mid"


def hf_backbone(path: str = HF_BACKBONE) -> str:
    """A random Wav2Vec2 written with ``save_pretrained`` (once): 6 layers of width 256 like ``mid``, the
    published models' convolutional frontend (7 layers, 320 samples per frame) at 128 channels, frozen as in
    fine-tuning recipes. Timings need no trained weights."""
    from pathlib import Path

    if not (Path(path) / "config.json").is_file():
        from transformers import Wav2Vec2Config, Wav2Vec2Model

        torch.manual_seed(0)
        config = Wav2Vec2Config(hidden_size=256, num_hidden_layers=6, num_attention_heads=4, intermediate_size=1024,
                                conv_dim=(128,) * 7, feat_extract_norm="layer", do_stable_layer_norm=True,
                                mask_time_prob=0.0, layerdrop=0.0)
        Wav2Vec2Model(config).save_pretrained(path)
    return path


def suite(model: str) -> list[dict]:
    """The benchmark's objectives: :data:`SUITE`, without BEST-RQ on a transformers backbone (it refuses SSL)."""
    return [o for o in SUITE if model != "hf" or o["task"] != "ssl"]
VOCAB = 256          # ASR and translation vocabularies (the tiny preset's)
SSL_CODES = 1024     # BEST-RQ codebook size (configs/demo.yaml)
SKETCH_K = 64        # columns of the sketched Gram (mode modo_sketch)
AMORTIZE_K = 10     # layers_amortized: λ every K steps
PROBE_SKETCH_K = 1024   # layers_amortized: columns of the streamed probe's per-layer count sketches
# mode -> (engine mode, double sampling)
MODES = {"linear": ("linear", "none"), "modo": ("faithful", "halves"), "modo_layers": ("layers", "halves"),
         "modo_sketch": ("faithful", "halves"), "fast": ("fast", "halves"), "torchjd": ("linear", "none"),
         "layers_first": ("layers", "halves"), "layers_last": ("layers", "halves"),
         "layers_all": ("layers", "halves"), "layers_amortized": ("layers", "halves"),
         "linear_per_stream": ("linear", "none"), "modo_per_stream": ("faithful", "halves"),
         "modo_batched": ("faithful", "halves")}


def forced_layers(mode: str, num_blocks: int) -> dict:
    """``moo.layers`` of the forced-selection modes: the paper's case (frontend + block 0, where it finds the
    conflicts), the last block, every layer — reading (a), λ per layer every step — and ``layers_amortized``:
    reading (b), λ from the frontend + block 0 Gram every ``AMORTIZE_K`` steps, applied to the whole encoder."""
    first, last = ["frontend", "block.0"], [f"block.{num_blocks - 1}"]
    every = ["frontend"] + [f"block.{i}" for i in range(num_blocks)]
    fixed = {"layers_first": first, "layers_last": last, "layers_all": every, "layers_amortized": first}.get(mode)
    if fixed is None:
        return {}
    if mode == "layers_amortized":   # its probe step is measured with streamed probes (soups.bench.moo)
        return {"fixed": fixed, "apply": "encoder", "probe_sketch_k": PROBE_SKETCH_K}
    return {"fixed": fixed, "apply": "layers"}


@dataclasses.dataclass
class FakeTokenizer:
    vocab_size: int


def growth_objectives(m: int) -> list[dict]:
    """M synthetic objectives for the growth curve: M linear CTC heads on ONE shared stream (``en``), so
    the encoder forward is the same for every M and only the per-objective cost grows."""
    return [{"name": f"ctc_{i:02d}", "task": "asr", "lang": "en"} for i in range(m)]


def make_config(model: str, mode: str, objectives: list[dict], batch_cuts: int = 16,
                hf_path: str | None = None) -> ExperimentConfig:
    """The experiment config of one bench run (VS hierarchy, MoDo weighting, the paper's defaults)."""
    engine_mode, sampling = MODES[mode]
    overrides = dict(MODELS[model])
    if model == "hf":
        from soups.model.hf import load_hf_config

        overrides["encoder"] = {"kind": "hf", "hf": {"path": hf_path or hf_backbone()}}
        config = load_hf_config(overrides["encoder"]["hf"]["path"])
        blocks = getattr(config, "num_hidden_layers", None) or config.encoder_layers
    else:
        blocks = overrides.get("encoder", {}).get("num_blocks", 4)
    data = {"data": {"batch_cuts": batch_cuts, "specaugment": {"enabled": False}},
            "model": {"preset": "tiny", "ssl": {"num_codes": SSL_CODES}, **overrides},
            "objectives": objectives,
            "moo": {"mode": engine_mode, "double_sampling": sampling,
                    "hierarchy": {"formulation": "vs", "weighting": "modo"},
                    "sketch": {"k": SKETCH_K if mode == "modo_sketch" else 0},
                    "layers": forced_layers(mode, blocks),
                    "update_every": AMORTIZE_K if mode == "layers_amortized" else 1,
                    "batched_vjp": mode == "modo_batched"},
            # torchjd's Jacobian is cheapest with one encoder call per stream; faithful/layers MoDo with one per
            # batch half (auto); modo_per_stream: faithful MoDo with one call per stream, as before that
            "train": {"warmup_steps": 1, "bf16": True,
                      "encoder_forward": "per_stream" if mode in ("torchjd", "linear_per_stream", "modo_per_stream")
                      else "auto"}}
    return load_config(None, [], data=data)


def synthetic_batch(stream: str, n: int, seconds: float, gen: torch.Generator, waveform: bool = False) -> Batch:
    """``n`` utterances of about ``seconds`` s (100 frames/s) with CTC-feasible random targets; ``waveform``: the
    input of a transformers backbone, ``(n, S, 1)`` at 16 kHz, instead of fbank."""
    frames = (seconds * 100 * (0.85 + 0.3 * torch.rand(n, generator=gen))).long().clamp(min=40)
    feats = torch.randn(n, int(frames.max()) * (160 if waveform else 1), 1 if waveform else 80, generator=gen)
    lengths = frames * 160 if waveform else frames
    feats *= (torch.arange(feats.shape[1])[None, :] < lengths[:, None])[..., None]   # zero padding

    def tokens(frac: float) -> list[list[int]]:
        lens = (frames.float() / 4 * frac).long().clamp(min=1)   # ~ 1 token per 12 (ASR) / 15 (ST) frames
        return [torch.randint(NUM_SPECIAL, VOCAB, (int(k),), generator=gen).tolist() for k in lens]

    ids = [f"{stream}-{i}" for i in range(n)]
    lang = "en" if stream == "ssl" else stream
    return Batch(stream, feats, lengths, ids, [lang] * n, [""] * n, [""] * n, tokens(1 / 3), tokens(4 / 15),
                 [None] * n)


@dataclasses.dataclass
class Setup:
    cfg: ExperimentConfig
    model: torch.nn.Module
    moo: object                     # soups.moo.MultiObjective (or TorchJDEngine)
    optimizer: torch.optim.Optimizer
    batches: dict[str, Batch]
    device: torch.device


def build_setup(cfg: ExperimentConfig, seconds: float, device: str, mode: str, seed: int = 0) -> Setup:
    """Model, engine and optimizer through :mod:`soups.train.build`; batches from a fixed seed."""
    torch.manual_seed(seed)
    toks = {f"asr_{o.lang}": FakeTokenizer(VOCAB) for o in cfg.objectives if o.task == "asr"}
    toks["st"] = FakeTokenizer(VOCAB)
    dev = torch.device(device)
    model = build.build_model(cfg, toks).to(dev)
    moo = build.build_moo(cfg, model)
    if mode == "torchjd":
        moo = TorchJDEngine(moo)
    optimizer = build.build_optimizer(cfg, model)
    gen = torch.Generator().manual_seed(seed + 1)
    streams = list(dict.fromkeys(o.stream for o in cfg.objectives))
    waveform = build.is_hf(cfg)
    batches = {s: synthetic_batch(s, cfg.data.batch_cuts, seconds, gen, waveform) for s in streams}
    ssl = next((o for o in model.objectives.values() if o.task == "ssl"), None)
    if ssl is not None:
        b = batches["ssl"]
        b.ssl = ssl.head.to("cpu").prepare(b.feats, b.feat_lens, torch.Generator().manual_seed(seed + 2))
        ssl.head.to(dev)
        b.feats = b.ssl.feats
        b.ssl = dataclasses.replace(b.ssl, **{k: getattr(b.ssl, k).to(dev) for k in ("feats", "lengths", "targets",
                                                                                    "frame_mask")})
    for b in batches.values():
        b.to(dev)
    return Setup(cfg, model, moo, optimizer, batches, dev)


def train_step(s: Setup, step: int) -> dict:
    """One update (see the module docstring); returns the engine's log (weights, selected layers…)."""
    cfg, model = s.cfg, s.model
    model.train()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if s.device.type == "cuda" and cfg.train.bf16 \
        else torch.autocast("cpu", enabled=False)
    with autocast:
        terms, _ = forward_terms(model, cfg, s.batches, split_heads=not isinstance(s.moo, TorchJDEngine))
    s.moo.set_position(step, 0)
    info = s.moo.backward_terms(terms)
    params = [p for p in model.parameters() if p.grad is not None]
    torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip)
    s.optimizer.step()
    s.optimizer.zero_grad(set_to_none=True)
    return info


class TorchJDEngine:
    """torchjd's ``mtl_backward`` in place of the engine: features = every objective's encoder-output tap,
    tasks = the objective heads; the shared Jacobian (M rows) is aggregated by UPGrad (``jac_to_grad``)."""

    def __init__(self, moo, aggregator: str = "upgrad"):
        from torchjd.aggregation import MGDA, UPGrad

        self.moo, self.hierarchy, self.shared, self.step = moo, moo.hierarchy, moo.engine.shared, 0
        self.aggregator = {"upgrad": UPGrad, "mgda": MGDA}[aggregator]()

    def set_position(self, step: int, epoch: float) -> None:
        self.step = step

    def backward_terms(self, terms) -> StepRecord:
        """The same call as :meth:`soups.moo.MultiObjective.backward_terms`."""
        from torchjd.autojac import jac_to_grad, mtl_backward

        features = [t for ts in terms.taps for t in ts]
        mtl_backward(terms.mean_losses(), features=features, tasks_params=terms.head_params,
                     shared_params=self.shared)
        weights = jac_to_grad(self.shared, self.aggregator)
        return StepRecord(self.moo.names, weights, self.step, 0, "torchjd", updated=True)


# ---- measuring (used by soups.bench.moo's worker processes) ------------------------------------------
def mem_mb() -> dict[str, float]:
    text = open("/proc/self/status").read()
    return {k: int(re.search(rf"{k}:\s+(\d+)", text).group(1)) / 1024 for k in ("VmHWM", "VmRSS")}


def reset_peak(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")          # resets VmHWM to the current VmRSS (Linux >= 4.0)
    except OSError:
        pass                      # the peak then also covers the build and the warm-up


def peak_mb(device, base_rss: float) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return mem_mb()["VmHWM"] - base_rss


def live_mb(s) -> float:
    """Tensors alive between steps: parameters, buffers, AdamW state, batches (unique storages)."""
    tensors = list(s.model.parameters()) + list(s.model.buffers())
    tensors += [t for st in s.optimizer.state.values() for t in st.values() if hasattr(t, "untyped_storage")]
    for b in s.batches.values():
        tensors += [b.feats, b.feat_lens] + ([b.ssl.targets, b.ssl.frame_mask] if b.ssl is not None else [])
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values()) / 2**20


def tensor_peak_mb(s, step: int, train_step) -> float:
    """CPU: live tensor bytes at the step's peak — tensors alive between steps plus the largest running
    sum of the step's allocations and frees, as recorded by the torch profiler (``profile_memory``)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        train_step(s, step)
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    cur = peak = 0
    for e in events:
        cur += e.nbytes()
        peak = max(peak, cur)
    return live_mb(s) + peak / 2**20
