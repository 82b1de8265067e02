"""Training logs: TensorBoard scalars, a JSONL record per logged step, a readable ``train.log``, a progress bar.

Everything is written by rank 0 only. ``log.jsonl`` has one JSON object per line
(``{"step": 10, "epoch": 0, "lr/backbone": …, "loss/asr_fr": …, "w/asr_fr": …, …}``). ``train.log`` is for
people: timestamped messages (start, resume, dev results, skips, warnings of the ``soups`` loggers, the stop)
and one line per logged step (``step 120  loss asr_en 2.10 … | 0.27 s/step``); it is appended to on resume.
"""

from __future__ import annotations

import json
import logging
import math
import time
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
                 progress: bool = True, resume: bool = False):
        self.enabled = enabled
        if enabled and resume:  # what was logged after the restored checkpoint (or step 0) is replayed
            cut_log_back(exp_dir / "log.jsonl", start_step)
        self.jsonl = open(exp_dir / "log.jsonl", "a", encoding="utf-8") if enabled else None
        self.tb = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step: TensorBoard drops the resumed run's earlier events after the restored step
            self.tb = SummaryWriter(str(exp_dir / "tensorboard"), purge_step=start_step + 1 if resume else None)
        self.text_log, self._handler = None, None
        if enabled:
            self.text_log = open(exp_dir / "train.log", "a", encoding="utf-8")
            self._handler = logging.StreamHandler(self.text_log)   # the soups loggers' warnings go here too
            self._handler.setLevel(logging.INFO)
            self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                                         "%Y-%m-%d %H:%M:%S"))
            logging.getLogger("soups").addHandler(self._handler)
            if logging.getLogger("soups").getEffectiveLevel() > logging.INFO:
                logging.getLogger("soups").setLevel(logging.INFO)
            self._line(f"{'resumed at' if resume else 'started at'} step {start_step} of {total_steps}")
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
        losses = "  ".join(f"{k[5:]} {v:.3f}" for k, v in sorted(clean.items())
                           if k.startswith("loss/") and isinstance(v, float))
        if losses:
            speed = f" | {clean['step_s']:.2f} s/step" if isinstance(clean.get("step_s"), float) else ""
            self.text_log.write(f"step {step}  loss {losses}{speed}\n")
            self.text_log.flush()

    def _line(self, message: str) -> None:
        self.text_log.write(time.strftime("%Y-%m-%d %H:%M:%S ") + message + "\n")
        self.text_log.flush()

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
        self._line(message)
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
        if self.text_log is not None:
            logging.getLogger("soups").removeHandler(self._handler)
            self._line("stopped")
            self.text_log.close()
