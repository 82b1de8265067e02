"""A pretrained transformers speech model as the shared encoder θ: Wav2Vec2 / XLS-R, HuBERT, WavLM (raw 16 kHz
waveform) and the Whisper encoder (its own log-mel frontend), behind the interface of
:class:`~soups.model.conformer.ConformerEncoder`.

Why a hand-written adapter: transformers gives the backbones, but not what the method needs around them — one
``forward(input (B, S, 1), lengths (B,)) -> EncoderOutput`` with valid-frame lengths and masks for the CTC and
decoder heads, intermediate-layer outputs for inter-CTC, and the parameters grouped per transformer layer for
layer-wise conflict selection (``"frontend"``, ``"block.0"`` … ``"block.N-1"``, the names the Conformer uses, so a
``moo.layers.fixed`` list means the same on every backbone).

The input is always the raw waveform at 16 kHz, ``(B, S, 1)`` zero-padded; the backbone's own preprocessing runs
inside :meth:`HFEncoder.forward`, so an exported model needs nothing beside it:

* **Wav2Vec2 family**: zero-mean unit-variance per utterance over its valid samples (``do_normalize`` of the
  model's ``preprocessor_config.json``, default on), padding kept at 0. The attention mask is passed where the
  model was pretrained with one (``feat_extract_norm == "layer"``: XLS-R, large models); models with a
  group-normalised feature encoder (wav2vec2-base, HuBERT-base) get none, as their processors do, so padding
  can shift their valid frames a little — bucketing keeps padding small. Output frames: the conv feature
  encoder's (320 samples = 20 ms per frame for every published model).
* **Whisper**: the model's log-mel (``num_mel_bins``, 25 ms Hann window, 10 ms hop, log10 clamped to 8 below the
  utterance's maximum, ``(x + 4) / 4``), computed on the waveform zero-padded to Whisper's fixed window
  (``2 · max_source_positions`` mel frames: 30 s for every published model), exactly as
  ``WhisperFeatureExtractor`` pads a short clip. Whisper has no attention mask: the encoder sees the silence
  after the utterance as it did in pretraining, and the heads see only the utterance's own frames
  (``⌈T_mel / 2⌉`` of the 1,500). An utterance longer than the window cannot be encoded: the data pipeline skips
  it (counted as ``too_long_for_backbone``).

Example:
    >>> from transformers import Wav2Vec2Config, Wav2Vec2Model                          # doctest: +SKIP
    >>> Wav2Vec2Model(Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     intermediate_size=64, conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3),
    ...     num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)).save_pretrained("/tmp/w2v")
    >>> enc = HFEncoder(HFEncoderConfig(path="/tmp/w2v"))                                 # doctest: +SKIP
    >>> o = enc(torch.randn(2, 16000, 1), torch.tensor([16000, 8000]))                   # doctest: +SKIP
    >>> o.out.shape, o.lengths.tolist(), list(enc.layer_groups())                        # doctest: +SKIP
    (torch.Size([2, 1599, 32]), [1599, 799], ['frontend', 'block.0', 'block.1'])
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from soups.data.features import SAMPLE_RATE
from soups.errors import ConfigError
from soups.model.conformer import EncoderOutput, lengths_to_mask

log = logging.getLogger(__name__)
WAV2VEC2_FAMILY = ("wav2vec2", "hubert", "wavlm")
SUPPORTED = (*WAV2VEC2_FAMILY, "whisper")
KEY = "model.encoder.hf"


@dataclass
class HFEncoderConfig:
    """``path``: a local directory written by ``save_pretrained`` or a hub id already in the local Hugging Face
    cache (nothing is downloaded). ``freeze_feature_encoder``: keep the convolutional frontend fixed (the usual
    fine-tuning recipe). ``mask_time_prob`` / ``layerdrop``: the model's own SpecAugment and LayerDrop (None:
    keep the model's config). ``intermediate_layers``: 0-based transformer layers whose outputs feed inter-CTC."""

    path: str = ""
    freeze_feature_encoder: bool = True
    gradient_checkpointing: bool = False
    mask_time_prob: float | None = None
    layerdrop: float | None = None
    intermediate_layers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.intermediate_layers = tuple(int(i) for i in self.intermediate_layers)
        if not str(self.path):
            raise ConfigError(f"{KEY}.path", "give the backbone: a save_pretrained directory or a cached hub id")
        for key in ("mask_time_prob", "layerdrop"):
            value = getattr(self, key)
            if value is not None and not 0.0 <= float(value) < 1.0:
                raise ConfigError(f"{KEY}.{key}", f"must be in [0, 1), got {value}")


def load_hf_config(path: str):
    """The backbone's transformers config, offline; a clear :class:`ConfigError` when it is not there or not a
    supported speech encoder."""
    from transformers import AutoConfig  # first: a missing extra is named before anything else

    where = Path(path)
    if where.exists() and not (where / "config.json").is_file():
        raise ConfigError(f"{KEY}.path", f"{path} is not a transformers model directory (no config.json)")
    try:
        config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as err:
        if where.exists():
            raise ConfigError(f"{KEY}.path", f"{path}: unreadable config.json ({type(err).__name__}: "
                              f"{str(err).splitlines()[0]})") from None
        raise ConfigError(f"{KEY}.path", f"{path!r} is neither a local directory nor in the local Hugging Face "
                          f"cache (nothing is downloaded); fetch it where there is internet "
                          f"(`hf download {path}`) and point HF_HOME at that cache, or give the "
                          "save_pretrained directory") from None
    if config.model_type not in SUPPORTED:
        raise ConfigError(f"{KEY}.path", f"{path}: model type {config.model_type!r} is not a supported speech "
                          f"encoder (supported: {', '.join(SUPPORTED)})")
    return config


def output_frames(config, samples: Tensor | int) -> Tensor | int:
    """Valid encoder frames for ``samples`` waveform samples (16 kHz)."""
    if config.model_type == "whisper":
        mel = samples // 160
        return (mel - 1) // 2 + 1 if isinstance(mel, int) else torch.where(mel > 0, (mel - 1) // 2 + 1, 0)
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        samples = (samples - kernel) // stride + 1
        samples = max(samples, 0) if isinstance(samples, int) else samples.clamp(min=0)
    return samples


def max_samples(config) -> int | None:
    """The longest input the backbone can encode (Whisper's window), None when unbounded."""
    if config.model_type == "whisper":
        return 2 * config.max_source_positions * 160
    return None


def _quiet_transformers():
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_backbone(path: str, config) -> nn.Module:
    """The pretrained module: the Wav2Vec2-family base model, or Whisper's encoder alone."""
    _quiet_transformers()
    from transformers import AutoModel

    if config.model_type == "whisper":
        from transformers import WhisperModel
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        if "WhisperEncoder" in (config.architectures or []):  # what export writes: the encoder alone
            return WhisperEncoder.from_pretrained(str(path), config=config, local_files_only=True)
        return WhisperModel.from_pretrained(str(path), config=config, local_files_only=True).get_encoder()
    return AutoModel.from_pretrained(str(path), config=config, local_files_only=True)


def _preprocessor(path: str) -> dict:
    file = Path(path) / "preprocessor_config.json"
    try:
        return json.loads(file.read_text()) if file.is_file() else {}
    except (OSError, ValueError) as err:
        raise ConfigError(f"{KEY}.path", f"{file}: unreadable ({type(err).__name__}: {err})") from None


class WhisperLogMel(nn.Module):
    """Whisper's log-mel frontend in torch: ``(B, S)`` waveform (already padded to the window) -> ``(B, n_mels,
    S // 160)``; the mel filters are the feature extractor's (Slaney scale), kept as a buffer."""

    def __init__(self, num_mel_bins: int):
        super().__init__()
        from transformers import WhisperFeatureExtractor

        fe = WhisperFeatureExtractor(feature_size=num_mel_bins)
        self.n_fft, self.hop = fe.n_fft, fe.hop_length
        self.register_buffer("mel_filters", torch.tensor(fe.mel_filters, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(fe.n_fft), persistent=False)

    @torch.no_grad()
    def forward(self, wave: Tensor) -> Tensor:
        stft = torch.stft(wave.float(), self.n_fft, self.hop, window=self.window, return_complex=True)
        power = stft[..., :-1].abs() ** 2
        log_spec = (self.mel_filters.T @ power).clamp(min=1e-10).log10()
        peak = log_spec.amax(dim=(1, 2), keepdim=True)
        return (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0


class HFEncoder(nn.Module):
    """A transformers speech encoder as soups' shared encoder.

    ``forward(wave (B, S, 1), lengths (B,) samples, return_hidden=False) -> EncoderOutput`` with ``out (B, T', D)``
    (padded frames zeroed), ``lengths`` valid frames, ``intermediate`` {layer: (B, T', D)}, ``hidden_states``
    ``[frontend output, layer 0 output, …]`` when asked.
    """

    input_kind = "waveform"

    def __init__(self, cfg: HFEncoderConfig):
        super().__init__()
        self.cfg = cfg
        config = load_hf_config(cfg.path)
        if cfg.mask_time_prob is not None and hasattr(config, "mask_time_prob"):
            config.mask_time_prob = cfg.mask_time_prob
        if cfg.layerdrop is not None:
            setattr(config, "encoder_layerdrop" if config.model_type == "whisper" else "layerdrop", cfg.layerdrop)
        self.config = config
        self.backbone = load_backbone(cfg.path, config)
        self.kind = "whisper" if config.model_type == "whisper" else "wav2vec2"
        n_layers = len(self._layers())
        bad = [i for i in cfg.intermediate_layers if not 0 <= i < n_layers]
        if bad:
            raise ConfigError(f"{KEY}.intermediate_layers", f"layers {bad} outside 0..{n_layers - 1}")
        if self.kind == "whisper":
            self.logmel = WhisperLogMel(config.num_mel_bins)
            self.normalize = False
        else:
            self.normalize = bool(_preprocessor(cfg.path).get("do_normalize", True))
        if cfg.freeze_feature_encoder:
            for p in self._feature_encoder().parameters():
                p.requires_grad_(False)
        if cfg.gradient_checkpointing:
            self.backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})

    @property
    def d_model(self) -> int:
        return int(self.config.d_model if self.kind == "whisper" else self.config.hidden_size)

    @property
    def max_samples(self) -> int | None:
        return max_samples(self.config)

    def subsampled_lengths(self, lengths: Tensor | int) -> Tensor | int:
        """Encoder frames for waveform lengths in samples."""
        return output_frames(self.config, lengths)

    def _layers(self) -> nn.ModuleList:
        return self.backbone.layers if self.kind == "whisper" else self.backbone.encoder.layers

    def _feature_encoder(self) -> nn.Module:
        if self.kind == "whisper":
            return nn.ModuleList([self.backbone.conv1, self.backbone.conv2])
        return self.backbone.feature_extractor

    def _final_norm(self) -> nn.Module | None:
        """A norm applied after the last layer (it belongs to the last layer's group, as in the Conformer)."""
        if self.kind == "whisper":
            return self.backbone.layer_norm
        return self.backbone.encoder.layer_norm if getattr(self.config, "do_stable_layer_norm", False) else None

    def layer_groups(self) -> dict[str, list[nn.Parameter]]:
        """``{"frontend": [...], "block.0": [...], …}`` over the trainable parameters, each in exactly one group:
        a layer's own parameters; the final norm (Whisper, pre-LN Wav2Vec2) with the last layer; everything
        else (feature encoder, projection, positional embedding, …) in ``frontend``."""
        layers = list(self._layers())
        groups = {f"block.{i}": [p for p in layer.parameters() if p.requires_grad] for i, layer in enumerate(layers)}
        final = self._final_norm()
        if final is not None:
            groups[f"block.{len(layers) - 1}"] += [p for p in final.parameters() if p.requires_grad]
        taken = {id(p) for ps in groups.values() for p in ps}
        frontend = [p for p in self.backbone.parameters() if p.requires_grad and id(p) not in taken]
        return {"frontend": frontend, **groups}

    def _normalised(self, wave: Tensor, mask: Tensor) -> Tensor:
        """Zero mean, unit variance over each utterance's valid samples (Wav2Vec2FeatureExtractor's formula)."""
        n = mask.sum(dim=1, keepdim=True).clamp(min=1)
        mean = (wave * mask).sum(dim=1, keepdim=True) / n
        var = (((wave - mean) * mask) ** 2).sum(dim=1, keepdim=True) / n
        return ((wave - mean) / torch.sqrt(var + 1e-7)).masked_fill(~mask, 0.0)

    def forward(self, wave: Tensor, lengths: Tensor, return_hidden: bool = False) -> EncoderOutput:
        if wave.dim() != 3 or wave.shape[-1] != 1:
            raise ValueError(f"expected a waveform (B, S, 1), got {tuple(wave.shape)}")
        lengths = lengths.to(wave.device).long()
        wave = wave[..., 0]
        sample_mask = lengths_to_mask(lengths, wave.shape[1])
        wave = wave.masked_fill(~sample_mask, 0.0)
        want_hidden = return_hidden or bool(self.cfg.intermediate_layers)
        if self.kind == "whisper":
            out = self.backbone(self._whisper_input(wave, lengths), output_hidden_states=want_hidden)
        else:
            if self.normalize:
                wave = self._normalised(wave, sample_mask)
            attn = sample_mask.long() if self.config.feat_extract_norm == "layer" else None
            out = self.backbone(wave, attention_mask=attn, output_hidden_states=want_hidden)
        frames = self.subsampled_lengths(lengths)
        x = out.last_hidden_state[:, : int(frames.max()) if len(frames) else 0]
        mask = lengths_to_mask(frames, x.shape[1])
        zero = lambda h: h[:, : x.shape[1]].masked_fill(~mask[..., None], 0.0)  # noqa: E731
        hidden = list(out.hidden_states) if want_hidden else []
        return EncoderOutput(out=zero(x), lengths=frames, mask=mask,
                             intermediate={i: zero(hidden[i + 1]) for i in self.cfg.intermediate_layers},
                             hidden_states=[zero(h) for h in hidden] if return_hidden else None)

    def _whisper_input(self, wave: Tensor, lengths: Tensor) -> Tensor:
        window = self.max_samples
        if wave.shape[1] > window:
            if int(lengths.max()) > window:
                raise ValueError(f"an utterance of {int(lengths.max()) / SAMPLE_RATE:.1f} s is longer than Whisper's "
                                 f"{window / SAMPLE_RATE:.0f}-s window")
            wave = wave[:, :window]
        wave = nn.functional.pad(wave, (0, window - wave.shape[1]))
        feats = self.logmel(wave)
        return feats.to(next(self.backbone.parameters()).dtype)

    def save_pretrained(self, directory: str | Path) -> None:
        """The fine-tuned backbone as transformers writes it (Whisper: the encoder alone, loaded back by
        :func:`load_backbone`), with the preprocessor settings it was trained with."""
        directory = Path(directory)
        self.backbone.save_pretrained(str(directory))
        pre = _preprocessor(self.cfg.path)
        pre.setdefault("do_normalize", self.normalize)
        pre.setdefault("sampling_rate", SAMPLE_RATE)
        (directory / "preprocessor_config.json").write_text(json.dumps(pre, indent=1))
