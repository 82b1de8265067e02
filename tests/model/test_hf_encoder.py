"""transformers backbones as the shared encoder: tiny random Wav2Vec2 / HuBERT / WavLM / Whisper models written
with ``save_pretrained`` and loaded through the same path a hub id takes (``from_pretrained``, offline)."""

import pytest
import torch

pytest.importorskip("transformers")

from soups.errors import ConfigError  # noqa: E402
from soups.model.hf import HFEncoder, HFEncoderConfig, load_hf_config, output_frames  # noqa: E402

CONV = {"conv_dim": (16, 16, 16), "conv_stride": (5, 4, 4), "conv_kernel": (10, 4, 4),
        "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
         "mask_time_prob": 0.0, "layerdrop": 0.0, "hidden_dropout": 0.0, "attention_dropout": 0.0,
         "activation_dropout": 0.0, "feat_proj_dropout": 0.0}


def save_tiny(kind: str, directory, **extra) -> str:
    """A tiny random model of ``kind`` saved with save_pretrained; returns its directory."""
    import transformers as tf

    torch.manual_seed(0)
    if kind == "whisper":
        config = tf.WhisperConfig(**{**dict(
            d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
            encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=150,
            max_target_positions=16, vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            decoder_start_token_id=1, dropout=0.0), **extra})
        tf.WhisperModel(config).save_pretrained(directory)
        return str(directory)
    cls = {"wav2vec2": (tf.Wav2Vec2Config, tf.Wav2Vec2Model), "hubert": (tf.HubertConfig, tf.HubertModel),
           "wavlm": (tf.WavLMConfig, tf.WavLMModel)}[kind]
    cls[1](cls[0](**SMALL, **{**CONV, **extra})).save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="module")
def backbones(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {"wav2vec2": save_tiny("wav2vec2", root / "w2v", feat_extract_norm="layer", do_stable_layer_norm=True),
            "hubert": save_tiny("hubert", root / "hubert"),
            "wavlm": save_tiny("wavlm", root / "wavlm", feat_extract_norm="layer"),
            "whisper": save_tiny("whisper", root / "whisper")}


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "wavlm", "whisper"])
def test_every_family_loads_the_saved_weights_and_groups_every_parameter_once(backbones, kind):
    enc = HFEncoder(HFEncoderConfig(path=backbones[kind], freeze_feature_encoder=False, intermediate_layers=(0,)))
    import transformers as tf

    reference = (tf.WhisperModel.from_pretrained(backbones[kind]).encoder if kind == "whisper"
                 else tf.AutoModel.from_pretrained(backbones[kind]))
    for (name, a), b in zip(enc.backbone.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name
    groups = enc.layer_groups()
    assert list(groups) == ["frontend", "block.0", "block.1"]
    ids = [id(p) for ps in groups.values() for p in ps]
    trainable = [id(p) for p in enc.parameters() if p.requires_grad]
    assert sorted(ids) == sorted(trainable) and len(set(ids)) == len(ids)
    wave, lengths = torch.randn(2, 24000, 1), torch.tensor([24000, 16000])
    out = enc(wave, lengths, return_hidden=True)
    assert out.lengths.tolist() == [output_frames(enc.config, 24000), output_frames(enc.config, 16000)]
    assert out.out.shape == (2, out.lengths.max(), 32) and out.mask.sum(1).tolist() == out.lengths.tolist()
    assert (out.out[1, out.lengths[1]:] == 0).all() and list(out.intermediate) == [0]
    assert len(out.hidden_states) == 3


@pytest.mark.parametrize("kind", ["wav2vec2", "whisper"])
def test_valid_frames_do_not_depend_on_the_batch_padding(backbones, kind):
    """Wav2Vec2 with the attention mask (layer-norm feature encoder) and Whisper (always its full window): an
    utterance encoded alone and beside a longer one gives the same valid frames."""
    enc = HFEncoder(HFEncoderConfig(path=backbones[kind])).eval()
    short, long = torch.randn(12000, 1), torch.randn(20000, 1)
    alone = enc(short[None], torch.tensor([12000]))
    batch = torch.zeros(2, 20000, 1)
    batch[0, :12000], batch[1] = short, long
    together = enc(batch, torch.tensor([12000, 20000]))
    n = int(alone.lengths[0])
    assert int(together.lengths[0]) == n
    torch.testing.assert_close(together.out[0, :n], alone.out[0], atol=2e-5, rtol=1e-4)


def test_wav2vec2_input_is_normalised_per_utterance_like_its_feature_extractor(backbones):
    """The model sees Wav2Vec2FeatureExtractor's zero-mean unit-variance samples: scaling and shifting the raw
    waveform changes nothing."""
    enc = HFEncoder(HFEncoderConfig(path=backbones["wav2vec2"])).eval()
    wave = torch.randn(1, 16000, 1)
    torch.testing.assert_close(enc(wave * 7 + 3, torch.tensor([16000])).out, enc(wave, torch.tensor([16000])).out,
                               atol=1e-4, rtol=1e-3)


def test_whisper_features_match_its_feature_extractor(backbones):
    import numpy as np
    from transformers import WhisperFeatureExtractor

    enc = HFEncoder(HFEncoderConfig(path=backbones["whisper"]))
    wave = np.random.default_rng(0).standard_normal(20000).astype(np.float32) * 0.1
    window = enc.max_samples
    ours = enc.logmel(torch.nn.functional.pad(torch.from_numpy(wave)[None], (0, window - 20000)))
    ref = WhisperFeatureExtractor(feature_size=80)(wave, sampling_rate=16000, padding="max_length",
                                                  max_length=window, return_tensors="np").input_features
    torch.testing.assert_close(ours, torch.from_numpy(ref), atol=2e-4, rtol=1e-4)


def test_freezing_the_feature_encoder_leaves_it_out_of_the_groups(backbones):
    enc = HFEncoder(HFEncoderConfig(path=backbones["wav2vec2"], freeze_feature_encoder=True))
    frozen = {id(p) for p in enc.backbone.feature_extractor.parameters()}
    assert frozen and not any(id(p) in frozen for ps in enc.layer_groups().values() for p in ps)
    assert all(not p.requires_grad for p in enc.backbone.feature_extractor.parameters())


def test_whisper_refuses_an_utterance_longer_than_its_window(backbones):
    enc = HFEncoder(HFEncoderConfig(path=backbones["whisper"]))
    too_long = enc.max_samples + 160
    with pytest.raises(ValueError, match="longer than Whisper's"):
        enc(torch.zeros(1, too_long, 1), torch.tensor([too_long]))


def test_save_pretrained_round_trip_keeps_the_outputs(backbones, tmp_path):
    for kind in ("wav2vec2", "whisper"):
        enc = HFEncoder(HFEncoderConfig(path=backbones[kind])).eval()
        with torch.no_grad():
            for p in enc.parameters():
                p.add_(0.01)  # "fine-tuned"
        enc.save_pretrained(tmp_path / kind)
        again = HFEncoder(HFEncoderConfig(path=str(tmp_path / kind))).eval()
        wave, lengths = torch.randn(1, 16000, 1), torch.tensor([16000])
        torch.testing.assert_close(again(wave, lengths).out, enc(wave, lengths).out)


def test_bad_backbones_get_one_line_errors(backbones, tmp_path):
    with pytest.raises(ConfigError, match="neither a local directory nor in the local Hugging Face cache"):
        load_hf_config("facebook/no-such-model-in-cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        load_hf_config(str(tmp_path / "empty"))
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8).save_pretrained(
        tmp_path / "bert")
    with pytest.raises(ConfigError, match="model type 'bert' is not a supported speech encoder.*wav2vec2"):
        load_hf_config(str(tmp_path / "bert"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable config.json"):
        load_hf_config(str(tmp_path / "broken"))
    with pytest.raises(ConfigError, match="intermediate_layers"):
        HFEncoder(HFEncoderConfig(path=backbones["hubert"], intermediate_layers=(5,)))
    with pytest.raises(ConfigError, match="mask_time_prob"):
        HFEncoderConfig(path="x", mask_time_prob=1.5)
