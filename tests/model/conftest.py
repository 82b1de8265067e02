"""Shared fixtures for soups.model tests: single-threaded torch (shared 2-core machine), tiny dims."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def small_cfg():
    from soups.model.conformer import EncoderConfig

    return EncoderConfig(
        d_model=32, num_blocks=2, num_heads=4, conv_kernel=31, dropout=0.1, subsampling_channels=8,
        intermediate_layers=(0,),
    )


@pytest.fixture
def small_encoder(small_cfg):
    from soups.model.conformer import ConformerEncoder

    torch.manual_seed(0)
    return ConformerEncoder(small_cfg).eval()
