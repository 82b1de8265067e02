"""CUDA smoke tests (skipped without a GPU): masks, generators and mixed precision on the device."""

from __future__ import annotations

import pytest
import torch

from soups.model import (
    BestRQObjective, BestRQConfig, ConformerEncoder, CPCObjective, CTCHead, EncoderConfig, TransformerDecoderHead,
    beam_search, greedy_decode, make_decoder_io,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
DEV = "cuda"


def _encoder():
    torch.manual_seed(0)
    cfg = EncoderConfig(d_model=64, num_blocks=2, num_heads=4, subsampling_channels=16, intermediate_layers=(0,))
    return ConformerEncoder(cfg).to(DEV)


def test_cuda_padding_invariance():
    enc = _encoder().eval()
    lengths = [300, 211, 97, 7]
    feats = torch.full((4, 320, 80), 1e4, device=DEV)
    seqs = [torch.randn(n, 80, device=DEV) for n in lengths]
    for i, s in enumerate(seqs):
        feats[i, : len(s)] = s
    with torch.no_grad():
        batched = enc(feats, torch.tensor(lengths, device=DEV))
        for i, s in enumerate(seqs):
            alone = enc(s[None], torch.tensor([len(s)], device=DEV))
            n = int(alone.lengths[0])
            assert torch.allclose(batched.out[i, :n], alone.out[0], atol=1e-4)


def test_cuda_bf16_training_step_all_objectives():
    enc = _encoder().train()
    rq = BestRQObjective(64, BestRQConfig(num_codes=512)).to(DEV)
    cpc = CPCObjective(64).to(DEV)
    ctc = CTCHead(64, 50).to(DEV)
    dec = TransformerDecoderHead(64, 40, num_layers=2, num_heads=4).to(DEV)
    g = torch.Generator().manual_seed(0)  # CPU generator driving CUDA tensors
    feats, lengths = torch.randn(4, 300, 80, device=DEV), torch.tensor([300, 250, 200, 120], device=DEV)
    batch = rq.prepare(feats, lengths, g)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        o = enc(torch.cat([batch.feats, feats]), torch.cat([lengths, lengths]))
        l_rq, m_rq = rq.loss(o.out[:4], o.mask[:4], batch)
        l_cpc, m_cpc = cpc.loss(o.out[4:], o.mask[4:], None, g)
        y = torch.randint(3, 40, (4, 9), device=DEV)
        tin, tout, tl = make_decoder_io(y, torch.full((4,), 9, device=DEV), 1, 2, 0)
        l_dec = dec.loss(o.out[4:], o.mask[4:], tin, tout, tl)
        l_ctc = ctc.loss(o.out[4:], o.lengths[4:], y, torch.full((4,), 9, device=DEV)).losses.mean()
    total = l_rq + l_cpc + l_dec + l_ctc
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in enc.parameters())
    assert m_rq["code_entropy_bits"] > 3 and m_cpc["num_predictions"] > 0
    dec.eval()
    with torch.no_grad():
        greedy = greedy_decode(dec, o.out[4:].float(), o.mask[4:], 1, 2, 8)
        assert beam_search(dec, o.out[4:].float(), o.mask[4:], 1, 2, beam=1, max_len=8) == greedy
        assert len(beam_search(dec, o.out[4:].float(), o.mask[4:], 1, 2, beam=4, max_len=8)) == 4
