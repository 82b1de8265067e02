"""The moo tests do many tiny float64 matmuls: on a shared, loaded 2-core machine intra-op threads
only contend (a 100× slowdown was seen), so each test runs single-threaded and restores the setting."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
