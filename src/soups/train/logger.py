"""Training logs: TensorBoard scalars, a JSONL record per logged step, and a progress bar.

Everything is written by rank 0 only. ``log.jsonl`` has one JSON object per line
(``{"step": 10, "epoch": 0, "lr/backbone": …, "loss/asr_fr": …, "w/asr_fr": …, …}``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from soups.atomic import atomic_write_text


def cut_log_back(path: Path, step: int) -> int:
    """Keep the records of ``log.jsonl`` up to ``step`` (and a torn last line of a killed writer out), written
    atomically; returns how many records were dropped. Text lines (no step) are kept."""
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            dropped += 1
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), (int, float)) and rec["step"] > step:
            dropped += 1
            continue
        kept.append(line + "\n")
    if dropped:
        atomic_write_text(path, "".join(kept))
    return dropped


class TrainLogger:
    def __init__(self, exp_dir: Path, total_steps: int, start_step: int = 0, enabled: bool = True,
                 progress: bool = True):
        self.enabled = enabled
        if enabled and start_step > 0:  # a resume: what was logged after the restored checkpoint is replayed
            cut_log_back(exp_dir / "log.jsonl", start_step)
        self.jsonl = open(exp_dir / "log.jsonl", "a", encoding="utf-8") if enabled else None
        self.tb = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step: TensorBoard drops the resumed run's earlier events after the restored step
            self.tb = SummaryWriter(str(exp_dir / "tensorboard"), purge_step=start_step + 1 if start_step else None)
        self.bar = None
        if enabled and progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                            mininterval=2.0, smoothing=0.1)

    def log(self, step: int, record: dict) -> None:
        if not self.enabled:
            return
        clean = {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in record.items()}
        self.jsonl.write(json.dumps({"step": step, **clean}, sort_keys=True) + "\n")
        self.jsonl.flush()
        for key, value in clean.items():
            if isinstance(value, float) and math.isfinite(value):
                self.tb.add_scalar(key, value, step)

    def text(self, step: int, tag: str, text: str) -> None:
        if self.enabled:
            self.tb.add_text(tag, text, step)

    def progress(self, n: int, losses: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix({k[:10]: f"{v:.2f}" for k, v in losses.items()}, refresh=False)

    def write(self, message: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(message)
        else:
            print(message, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()
        if self.jsonl is not None:
            self.jsonl.close()
