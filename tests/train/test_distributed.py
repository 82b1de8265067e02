"""Real ``torchrun`` jobs (2 gloo processes on CPU) against one process with the same global batch."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from soups.train.checkpoint import load_checkpoint

ROOT = Path(__file__).parents[2]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
SMALL = ["model.encoder={d_model: 32, num_blocks: 2, num_heads: 2, subsampling_channels: 8, dropout: 0.0}",
         "model.decoder={num_layers: 1, num_heads: 2, ff_dim: 64, dropout: 0.0}", "model.ssl={num_codes: 64}",
         "tokenizers.asr={kind: spm, vocab_size: 80}", "tokenizers.st={kind: spm, vocab_size: 80}",
         "eval.lm.word_order=0",  # the demo decodes with a word n-gram, which needs character tokenizers
         "data.batch_cuts=6", "data.dev_utterances=2", "train.warmup_steps=1", "train.log_every=1",
         "train.threads=1", "train.precision=float64"]  # float64: differences show algorithmic mismatches only


@pytest.fixture(scope="module")
def config(tiny_corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "ddp.yaml"
    path.write_text(yaml.safe_dump({"data": {"dir": str(tiny_corpus)}, "objectives": [
        {"name": "asr_en", "task": "asr", "lang": "en"}, {"name": "asr_fr", "task": "asr", "lang": "fr"},
        {"name": "st_fr_en", "task": "st", "lang": "fr"}, {"name": "ssl", "task": "ssl", "head": "bestrq"}]}))
    return path


def train(cfg: Path, out: Path, nproc: int, *overrides, timeout: int = 300) -> subprocess.CompletedProcess:
    launcher = TORCHRUN + [f"--nproc_per_node={nproc}"] if nproc > 1 else [sys.executable]
    cmd = launcher + ["-m", "soups", "train", str(cfg), "--out", str(out), "--no-progress", *SMALL, *overrides]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1",
               PYTHONFAULTHANDLER="1")  # a crashing rank prints every thread's Python stack
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def final_state(exp: Path):
    return load_checkpoint(sorted((exp / "checkpoints").glob("ckpt-*.pt"))[-1])


def lambdas(exp: Path) -> list[dict]:
    """Per logged step: λ and (layers mode) which layer groups were selected."""
    rows = [json.loads(line) for line in (exp / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k.startswith(("lambda/", "layer_selected/"))} for r in rows
            if "grad_norm" in r]


CASES = {
    "linear": ["moo.mode=linear"],
    "modo": ["moo.mode=faithful", "moo.hierarchy={formulation: vs, weighting: modo}"],
    "vm-msp": ["moo.mode=fast", "moo.hierarchy={formulation: vm, levels: uas, weighting: modo}"],
    "modo-accumulate": ["moo.mode=faithful", "moo.hierarchy={formulation: vs, weighting: modo}",
                        "train.accumulate=2"],
    # layer selection, reading (b), with streamed probes (count sketches reduced across ranks) at steps 0 and 2
    "layers-b-streamed": ["moo.mode=layers", "moo.hierarchy={formulation: vs, weighting: modo}",
                          "moo.layers.apply=encoder", "moo.layers.refresh_every=2", "moo.layers.probe_sketch_k=32",
                          "moo.layers.threshold=1.0"],
}


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["data", "objective"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_two_processes_match_one_process(config, tmp_path, case, parallel):
    overrides = [*CASES[case], "train.max_steps=3"]
    train(config, tmp_path / "one", 1, *overrides)
    train(config, tmp_path / "two", 2, *overrides, f"train.parallel={parallel}")
    one, two = final_state(tmp_path / "one"), final_state(tmp_path / "two")
    assert max(float((one["model"][k] - two["model"][k]).abs().max()) for k in one["model"]) < 1e-5
    traj_one, traj_two = lambdas(tmp_path / "one"), lambdas(tmp_path / "two")
    assert len(traj_one) == len(traj_two) == 3
    if case != "linear":
        assert traj_one[-1], "MoDo's λ is logged at every step"
    if case.startswith("layers"):
        assert any(v == 1.0 for k, v in traj_one[0].items() if k.startswith("layer_selected/"))
    for a, b in zip(traj_one, traj_two):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-6 for k in a)


@pytest.mark.slow
def test_contract_command_writes_a_checkpoint(tiny_corpus, tmp_path):
    """torchrun --standalone --nproc_per_node=2 -m soups train configs/demo.yaml --out DIR train.max_steps=3"""
    train(ROOT / "configs" / "demo.yaml", tmp_path / "exp", 2, f"data.dir={tiny_corpus}", "train.max_steps=3")
    assert (tmp_path / "exp" / "checkpoints" / "ckpt-00000003.pt").is_file()


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


@pytest.mark.slow
def test_a_killed_rank_stops_the_job_and_it_resumes_from_the_last_checkpoint(config, tmp_path):
    overrides = [*CASES["vm-msp"], "train.max_steps=12", "train.checkpoint_every=2"]
    exp = tmp_path / "exp"
    cmd = TORCHRUN + ["--nproc_per_node=2", "-m", "soups", "train", str(config), "--out", str(exp), "--no-progress",
                      *SMALL, *overrides]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1",
               PYTHONFAULTHANDLER="1")  # a crashing rank prints every thread's Python stack
    job = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while not list((exp / "checkpoints").glob("ckpt-*.pt")) and time.time() < deadline and job.poll() is None:
        time.sleep(0.5)
    assert list((exp / "checkpoints").glob("ckpt-*.pt")), "no checkpoint appeared"
    workers = _children(job.pid)
    assert len(workers) == 2
    os.kill(workers[1], signal.SIGKILL)  # rank 1 dies mid-run
    job.wait(timeout=120)                # … and the whole job stops: no hang
    assert job.returncode != 0
    done = max(int(p.stem.split("-")[1]) for p in (exp / "checkpoints").glob("ckpt-*.pt"))
    assert done < 12
    train(config, exp, 2, *overrides, "--resume")
    assert final_state(exp)["step"] == 12
    train(config, tmp_path / "straight", 2, *overrides)
    a, b = final_state(exp)["model"], final_state(tmp_path / "straight")["model"]
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-9  # resuming changed nothing
