"""soups.model: the shared Conformer encoder, task heads, SSL objectives and size presets.

The model knows nothing about data formats or optimisation. Main entry points:

* :class:`ConformerEncoder` / :class:`EncoderConfig` / :class:`EncoderOutput`, :func:`subsampled_lengths`
* heads: :class:`CTCHead`, :class:`TransformerDecoderHead`, :class:`ClassificationHead`
* decoder search: :func:`greedy_decode`, :func:`beam_search` (in :mod:`soups.model.decoder_search`)
* SSL: :class:`CPCObjective`, :class:`BestRQObjective`, :func:`build_ssl`
* presets: :func:`get_preset`, :func:`build_model`, :func:`describe_preset`, :func:`count_parameters`
"""

from soups.model.bestrq import BestRQConfig, BestRQObjective
from soups.model.conformer import ConformerEncoder, EncoderConfig, EncoderOutput, lengths_to_mask
from soups.model.cpc import CPCConfig, CPCObjective
from soups.model.decoder import DecoderState, TransformerDecoderHead, make_decoder_io
from soups.model.decoder_search import beam_search, greedy_decode, score_sequences
from soups.model.heads import ClassificationHead, CTCHead, CTCLossOutput, ctc_min_frames
from soups.model.presets import (
    PRESETS, DecoderConfig, Preset, build_heads, build_model, count_parameters, describe_preset, get_preset,
)
from soups.model.ssl import SSLBatch, SSLObjective
from soups.model.ssl_factory import build_ssl
from soups.model.subsampling import subsampled_lengths

__all__ = [
    "PRESETS", "BestRQConfig", "BestRQObjective", "CPCConfig", "CPCObjective", "CTCHead", "CTCLossOutput",
    "ClassificationHead", "ConformerEncoder", "DecoderConfig", "DecoderState", "EncoderConfig", "EncoderOutput",
    "Preset", "SSLBatch", "SSLObjective", "TransformerDecoderHead", "beam_search", "build_heads", "build_model",
    "build_ssl", "count_parameters", "ctc_min_frames", "describe_preset", "get_preset", "greedy_decode",
    "lengths_to_mask", "make_decoder_io", "score_sequences", "subsampled_lengths",
]
