"""Regenerate the figures of docs/reliability.md from the reliability tests (runs them; ~4 minutes on 2 cores):

    python scripts/reliability_report.py            # rewrites the table between the markers of docs/reliability.md

Each row is a group of test files; "cases" counts test cases (a parametrized case is one bad input or one
scenario), "generated" the inputs hypothesis draws (its fixed example budgets).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
GROUPS = {
    "damaged files where data enters (manifests, features, tokenizers, CMVN, TSV rows, non-finite audio)":
        ["tests/data/test_damaged_files.py"],
    "corpus readers: bad rows, missing files, unsafe archives (CoVoST 2, LibriSpeech, AISHELL, audio folders)":
        ["tests/data/test_tsv.py", "tests/data/test_covost2.py", "tests/data/test_librispeech.py",
         "tests/data/test_aishell.py", "tests/data/test_audio_dir.py", "tests/data/test_safe_tar.py"],
    "configs: unknown keys, types, ranges": ["tests/train/test_config.py"],
    "checkpoints: torn, truncated, garbage, malicious pickles; atomic experiment files; resume fallback":
        ["tests/train/test_checkpoint.py", "tests/train/test_atomic.py"],
    "non-finite steps (every MoDo mode), non-finite losses, diverging runs": [
        "tests/moo/test_moo_engine.py::test_a_non_finite_step_is_refused_before_any_weighting_moves",
        "tests/train/test_training.py::test_non_finite_losses_are_skipped_counted_and_training_goes_on",
        "tests/train/test_training.py::test_a_diverging_run_skips_non_finite_steps_then_stops_cleanly"],
    "SIGKILL at random moments and inside checkpoint writes, then --resume (linear, fast, faithful)":
        ["tests/reliability/test_kill_resume.py"],
    "fuzzing: TSV reader, config overrides, config files": ["tests/reliability/test_fuzz.py"],
}
GENERATED = {"tests/reliability/test_fuzz.py": 600}   # hypothesis max_examples: 300 + 200 + 100
BEGIN, END = "<!-- reliability-table: begin -->", "<!-- reliability-table: end -->"


def run_group(targets: list[str]) -> tuple[int, int]:
    targets = [t for t in targets if (ROOT / t.split("::")[0]).is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *targets],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cases = ET.parse(xml).getroot().iter("testcase")
        outcome = defaultdict(int)
        for case in cases:
            tags = {child.tag for child in case}
            if "skipped" in tags:   # e.g. CUDA-only cases on a CPU machine: not counted
                continue
            outcome["failed" if tags & {"failure", "error"} else "passed"] += 1
    return outcome["passed"] + outcome["failed"], outcome["passed"]


def main() -> None:
    rows = ["| what is tried | cases | passed | generated inputs |", "|---|---|---|---|"]
    for name, targets in GROUPS.items():
        total, passed = run_group(targets)
        generated = sum(GENERATED.get(t, 0) for t in targets)
        rows.append(f"| {name} | {total} | {passed} | {generated or '–'} |")
        print(rows[-1], flush=True)
    text = DOC.read_text()
    block = BEGIN + "\n" + "\n".join(rows) + "\n" + END
    DOC.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


if __name__ == "__main__":
    main()
