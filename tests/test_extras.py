"""The core install (torch, numpy, pyyaml) is enough for soups.moo; the speech toolkit says which extra it needs."""

import subprocess
import sys

BLOCK = "import sys\nfor m in ('lhotse', 'torchjd', 'scipy', 'transformers', 'sentencepiece', 'jiwer', 'sacrebleu'):\n" \
        "    sys.modules[m] = None   # as if not installed\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=120)


def test_soups_moo_trains_without_the_speech_stack():
    out = _run("import torch\nfrom soups.moo import MultiObjective\n"
               "enc, heads = torch.nn.Linear(3, 4), torch.nn.ModuleList([torch.nn.Linear(4, 1) for _ in range(2)])\n"
               "moo = MultiObjective(['a', 'b'], enc, {'formulation': 'vs', 'weighting': 'modo'}, mode='faithful')\n"
               "f = enc(torch.randn(6, 3))\n"
               "r = moo.backward({n: h(f).squeeze(-1) ** 2 for n, h in zip('ab', heads)}, f)\n"
               "print(r.updated, enc.weight.grad is not None)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]


def test_the_cli_names_the_missing_extra():
    out = _run("from soups.cli import main\nraise SystemExit(main(['data', 'stats', 'nowhere']))")
    assert out.returncode == 2, out.stderr
    assert "needs the 'speech' extra" in out.stderr and "pip install 'soups[speech]'" in out.stderr
    assert "Traceback" not in out.stderr
