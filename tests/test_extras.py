"""The core install (torch, numpy, pyyaml) is enough for soups.moo; the speech toolkit says which extra it needs."""

import subprocess
import sys

BLOCK = "import sys\nfor m in ('lhotse', 'torchjd', 'scipy', 'transformers', 'sentencepiece', 'jiwer', 'sacrebleu'):\n" \
        "    sys.modules[m] = None   # as if not installed\n"


def _run(code: str, block: str = BLOCK) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", block + code], capture_output=True, text=True, timeout=120)


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


def test_a_transformers_backbone_names_the_hf_extra(tmp_path):
    code = f"from soups.cli import main\nraise SystemExit(main(['bench', 'moo', '--model', 'hf', '--quick', " \
           f"'--hf-path', {str(tmp_path)!r}]))"
    out = _run(code, block="import sys\nsys.modules['transformers'] = None\n")  # the speech extra is there
    assert out.returncode == 2, out.stderr
    assert "needs the 'hf' extra" in out.stderr and "pip install 'soups[hf]'" in out.stderr
    assert "Traceback" not in out.stderr
    out = _run(code, block="")  # with transformers: the directory is not a model, said in one line
    assert out.returncode == 2 and "model.encoder.hf.path" in out.stderr and "no config.json" in out.stderr
    assert "Traceback" not in out.stderr
