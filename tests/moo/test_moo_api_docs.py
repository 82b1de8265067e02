"""Every example of docs/moo-api.md runs as written (the DDP one under real torchrun, 1 and 2 processes)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

DOC = Path(__file__).resolve().parents[2] / "docs" / "moo-api.md"


def examples() -> dict[str, str]:
    text = DOC.read_text()
    return dict(re.findall(r"<!-- example: (\w+) -->\n```python\n(.*?)```", text, flags=re.S))


def test_the_doc_has_its_four_examples():
    assert set(examples()) == {"plain", "transformers", "ddp", "torchjd"}


@pytest.mark.parametrize("name", ["plain", "transformers", "torchjd"])
def test_example_runs(name):
    if name == "transformers":
        pytest.importorskip("transformers")
    dtype = torch.get_default_dtype()
    try:
        exec(compile(examples()[name], f"{DOC.name}:{name}", "exec"), {"__name__": f"doc_{name}"})
    finally:
        torch.set_default_dtype(dtype)


def _torchrun(script: Path, nproc: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                          str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ddp_example_gives_the_single_process_result(tmp_path):
    script = tmp_path / "ddp_example.py"
    script.write_text(examples()["ddp"])
    one, two = _torchrun(script, 1), _torchrun(script, 2)
    assert one["lambda"] == pytest.approx(two["lambda"], abs=1e-12)
    assert one["weight0"] == pytest.approx(two["weight0"], abs=1e-12)
    assert one["lambda"] != pytest.approx([1 / 3] * 3, abs=1e-6)   # λ moved: the comparison means something
