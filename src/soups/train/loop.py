"""``soups train CONFIG --out EXP [key=value …]``: the training loop, checkpoints, resume, dev evaluation.

The experiment directory holds everything needed to evaluate or resume::

    EXP/config.yaml         the resolved config (a resume with a different config is refused)
    EXP/tokenizers.json     EXP/cmvn.json
    EXP/checkpoints/        ckpt-<step>.pt (last N), best.pt, checkpoints.json
    EXP/log.jsonl           EXP/tensorboard/        EXP/dev/ (dev hypotheses and references)
    EXP/train.log           (readable: start/resume, one line per logged step, dev results, warnings, stop)
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import os
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist

from soups import lock
from soups.atomic import atomic_write_text, remove_stale_temporaries
from soups.data.prefetch import Prefetcher
from soups.data.skips import SkipLog
from soups.data.specaugment import SpecAugment
from soups.errors import CheckpointError, ConfigError
from soups.train import build
from soups.train.checkpoint import CheckpointManager, load_checkpoint, restore_rng_state, rng_state
from soups.train.config import ExperimentConfig, config_diff, config_to_yaml, load_config
from soups.train.distributed import Communicator, assign_streams, world
from soups.train.init import apply_init_and_freeze
from soups.train.logger import TrainLogger
from soups.train.step import TrainContext, finish_batches, train_step

log = logging.getLogger(__name__)
# keys that may change when resuming (they do not change what the steps compute)
RESUMABLE_CHANGES = ("train.max_minutes", "train.log_every", "train.eval_every", "train.checkpoint_every",
                     "train.keep_last", "train.threads", "train.parallel", "train.dist_timeout_s", "data.prefetch",
                     "data.feature_cache_mb", "data.in_memory_cuts",
                     "eval")


def pick_device(cfg: ExperimentConfig) -> torch.device:
    if cfg.train.device == "cuda" or (cfg.train.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("train.device", "cuda requested but no GPU is available", choices=["auto", "cpu"])
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def check_experiment_dir(cfg: ExperimentConfig, exp_dir: Path, resume: bool) -> None:
    """A new run needs an empty experiment; a resume needs the same config (differences are shown)."""
    saved = exp_dir / "config.yaml"
    if resume:
        if not saved.is_file():
            raise ConfigError("--resume", f"{exp_dir} holds no experiment to resume (no config.yaml)")
        diff = config_diff(load_config(saved), cfg, ignore=RESUMABLE_CHANGES)
        if diff:
            raise ConfigError("--resume", "the config differs from the experiment's:\n  " + "\n  ".join(diff))
    elif (exp_dir / "checkpoints").is_dir() and any((exp_dir / "checkpoints").glob("ckpt-*.pt")):
        raise ConfigError("--out", f"{exp_dir} already holds a trained experiment; pass --resume to continue "
                          "it or choose another --out")


def make_context(cfg: ExperimentConfig, exp_dir: Path, rank: int = 0, world_size: int = 1,
                 comm=None) -> TrainContext:
    """Seed, then build tokenizers, CMVN, model, streams, optimizer, schedule and engine."""
    seed = cfg.train.seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = pick_device(cfg)
    if comm is not None and rank != 0:
        comm.barrier()  # rank 0 trains the tokenizers and computes CMVN first; the others load them
    tokenizers, cmvn = build.build_tokenizers(cfg, exp_dir), build.build_cmvn(cfg, exp_dir)
    if cfg.eval.lm.order > 0 and rank == 0:
        build.lm_texts(cfg, exp_dir)  # kept in the experiment, for decoding without the corpus
    if comm is not None and rank == 0:
        comm.barrier()
    model = build.build_model(cfg, tokenizers).to(device=device, dtype=getattr(torch, cfg.train.precision))
    apply_init_and_freeze(model, cfg.train.init_from, cfg.train.freeze, exp_dir)
    if rank == 0:
        log.info("model: %s", build.describe_parameters(model))
    skips = SkipLog()
    streams = build.build_streams(cfg, tokenizers, cmvn, skips, rank, world_size)
    if comm is not None:
        _share_weights(model)
        if comm.mode == "objective":
            comm.owned = assign_streams(model.streams(), rank, world_size)
            streams = {k: s for k, s in build.build_streams(cfg, tokenizers, cmvn, skips).items() if k in comm.owned}
    optimizer = build.build_optimizer(cfg, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: build.lr_factor(cfg, s))
    sa = cfg.data.specaugment  # fbank masking; a transformers backbone masks its own frames (mask_time_prob)
    specaug = (SpecAugment(sa.freq_masks, sa.freq_width, sa.time_masks, sa.time_width_ratio)
               if sa.enabled and not build.is_hf(cfg) else None)
    gen_ssl = torch.Generator().manual_seed(seed + 2)
    for obj in model.objectives.values():
        if obj.task == "ssl":
            obj.generator = gen_ssl
    moo = build.build_moo(cfg, model, reduce=comm.reduce_rows if comm is not None else None)
    data = Prefetcher(streams, skips, prefetch_depth(cfg, device))
    ctx = TrainContext(cfg, exp_dir, device, model, data, moo, optimizer, scheduler,
                       build.steps_per_epoch(cfg, streams), skips, specaug, gen_ssl,
                       tokenizers=tokenizers, cmvn=cmvn, comm=comm)
    ctx.data.finish = functools.partial(finish_batches, ctx)
    return ctx


def prefetch_depth(cfg: ExperimentConfig, device: torch.device) -> int:
    """``data.prefetch``; ``auto``: 1 when a GPU computes the step (the Python thread then mostly waits on the
    device), 0 on a CPU: measured on 2 idle cores, reading ahead took the data time from 4.5-7.4 % of a demo
    step to 0.02 %, but the step itself ran 9-14 % slower in wall time — the data thread's Python work holds
    the GIL the training thread needs between its many small kernels (docs/performance.md, "Data off the
    critical path")."""
    if cfg.data.prefetch != "auto":
        return int(cfg.data.prefetch)
    return int(device.type == "cuda")


def _share_weights(model: torch.nn.Module) -> None:
    """Every rank starts from rank 0's weights (the same seed gives them anyway; this makes it certain)."""
    import torch.distributed as dist

    for t in model.state_dict().values():
        dist.broadcast(t, 0)


def stream_states(ctx: TrainContext) -> dict:
    """Every stream's state (under objective parallelism, gathered from the ranks that own them)."""
    states = ctx.data.state_dict()
    if ctx.comm is not None and ctx.comm.mode == "objective":
        import torch.distributed as dist

        parts = [None] * ctx.comm.size
        dist.all_gather_object(parts, states)
        states = {k: v for part in parts for k, v in part.items()}
    return states


def checkpoint_state(ctx: TrainContext, streams: dict) -> dict:
    return {"step": ctx.step, "model": ctx.model.state_dict(), "optimizer": ctx.optimizer.state_dict(),
            "scheduler": ctx.scheduler.state_dict(), "engine": ctx.moo.engine.state_dict(),
            "streams": streams, "rng": rng_state(),
            "gen_ssl": ctx.gen_ssl.get_state(),
            "skipped_steps": ctx.skipped_steps, "skipped_items": dict(ctx.skipped_items),
            "skipped_objective_steps": dict(ctx.skipped_objective_steps), "config": config_to_yaml(ctx.cfg),
            "skipped_nonfinite": dict(ctx.skipped_nonfinite), "consecutive_skips": ctx.consecutive_skips}


def newest_intact_checkpoint(manager: CheckpointManager) -> dict:
    """The state of the newest checkpoint that loads; a torn or corrupt newer one is reported and passed
    over (resuming from an older one replays those steps, with the same result). None loading: an error."""
    problems = []
    for path in reversed(manager.list()):
        try:
            state = load_checkpoint(path)
        except CheckpointError as err:
            problems.append(str(err))
            log.warning("resume: %s; trying the previous checkpoint", err)
            continue
        if problems:
            log.warning("resume: falling back to %s (step %s)", path.name, state.get("step"))
        return state
    raise CheckpointError("--resume: no checkpoint loads:\n  " + "\n  ".join(problems))


def restore(ctx: TrainContext, state: dict | Path) -> None:
    state = load_checkpoint(state) if isinstance(state, Path) else state
    ctx.model.load_state_dict(state["model"])
    ctx.optimizer.load_state_dict(state["optimizer"])
    ctx.scheduler.load_state_dict(state["scheduler"])
    ctx.moo.engine.load_state_dict(state["engine"])
    ctx.step, ctx.skipped_steps = int(state["step"]), int(state["skipped_steps"])
    ctx.data.load_state_dict({name: state["streams"][name] for name in ctx.data.streams},
                             start=ctx.step * ctx.cfg.train.accumulate)
    restore_rng_state(state["rng"])
    ctx.gen_ssl.set_state(state["gen_ssl"])
    ctx.skipped_items.update(state["skipped_items"])
    ctx.skipped_objective_steps.update(state.get("skipped_objective_steps", {}))
    ctx.skipped_nonfinite.update(state.get("skipped_nonfinite", {}))
    ctx.consecutive_skips = int(state.get("consecutive_skips", 0))


DevEval = Callable[[TrainContext], dict]   # dev results with a "score" (lower is better), e.g. soups.eval.dev


def launch(cfg, out, resume: bool = False, stop_after: int | None = None, progress: bool = True,
           dev_eval: DevEval | None = None):
    """Train in this process, or as one rank of a ``torchrun`` job (soups.train.distributed)."""
    rank, size = world()
    if size == 1:
        return run_training(cfg, out, resume, stop_after, progress, dev_eval=dev_eval)
    use_cuda = torch.cuda.is_available() and cfg.train.device != "cpu"
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if use_cuda else "gloo",
                            timeout=datetime.timedelta(seconds=cfg.train.dist_timeout_s))
    try:
        comm = Communicator(cfg.train.parallel, rank, size)
        summary = run_training(cfg, out, resume, stop_after, progress and rank == 0, rank, size, comm=comm,
                               dev_eval=dev_eval)
        dist.barrier()  # rank 0 may still be evaluating or writing the last checkpoint
        return summary if rank == 0 else None
    finally:
        dist.destroy_process_group()


def run_training(cfg: ExperimentConfig, exp_dir: str | Path, resume: bool = False, stop_after: int | None = None,
                 progress: bool = True, rank: int = 0, world_size: int = 1, comm=None,
                 dev_eval: DevEval | None = None) -> dict:
    """Train until ``train.max_steps`` (or ``stop_after`` more steps, or ``train.max_minutes``).

    ``dev_eval`` (e.g. :func:`soups.eval.dev.evaluate_dev`, what ``soups train`` passes) runs every
    ``train.eval_every`` steps and at the end, and its ``score`` picks ``best.pt``; without it there is no dev
    evaluation and ``best.pt`` is never written (``--checkpoint best`` then takes the latest).

    Rank 0 holds the experiment's lock (:mod:`soups.lock`) throughout: a second process training into the
    same directory stops at once with :class:`~soups.errors.BusyError`."""
    exp_dir = Path(exp_dir)
    with lock.hold(exp_dir) if rank == 0 else contextlib.nullcontext():
        return _train(cfg, exp_dir, resume, stop_after, progress, rank, world_size, comm, dev_eval)


def _train(cfg: ExperimentConfig, exp_dir: Path, resume: bool, stop_after: int | None, progress: bool, rank: int,
           world_size: int, comm, dev_eval: DevEval | None) -> dict:
    exp_dir.mkdir(parents=True, exist_ok=True)
    check_experiment_dir(cfg, exp_dir, resume)
    if rank == 0:
        atomic_write_text(exp_dir / "config.yaml", config_to_yaml(cfg))
    ctx = make_context(cfg, exp_dir, rank, world_size, comm)
    manager = CheckpointManager(exp_dir / "checkpoints", cfg.train.keep_last, "score", "min")
    if resume and rank == 0:  # what a killed writer left behind (temporary checkpoint files of ~the model's size)
        stale = remove_stale_temporaries(exp_dir / "checkpoints") + remove_stale_temporaries(exp_dir)
        if stale:
            log.info("resume: removed %d stale temporary file(s) of an interrupted write", len(stale))
    if resume and manager.latest() is not None:
        restore(ctx, newest_intact_checkpoint(manager))
    logger = TrainLogger(exp_dir, cfg.train.max_steps, ctx.step, enabled=rank == 0, progress=progress, resume=resume)
    t = cfg.train
    last_target = t.max_steps if stop_after is None else min(t.max_steps, ctx.step + stop_after)
    start, dev, timing = time.time(), None, Timing()
    try:
        while ctx.step < last_target:
            t_step = time.time()
            rec = train_step(ctx)
            timing.add(time.time() - t_step, rec["data_s"])
            if ctx.comm is not None:
                rec["comm_bytes"] = ctx.comm.bytes_sent  # cumulative, this rank
            if ctx.step % t.log_every == 0 or ctx.step == last_target:
                logger.log(ctx.step, rec | timing.means())
            logger.progress(1, {k[5:]: v for k, v in rec.items() if k.startswith("loss/")})
            out_of_time = t.max_minutes is not None and time.time() - start > 60 * t.max_minutes
            at_eval = t.eval_every and ctx.step % t.eval_every == 0
            at_ckpt = t.checkpoint_every and ctx.step % t.checkpoint_every == 0
            if at_eval or at_ckpt or out_of_time or ctx.step == last_target:
                evaluate_now = dev_eval is not None and (bool(at_eval) or ctx.step == last_target or out_of_time)
                dev = _checkpoint(ctx, manager, logger, dev_eval if evaluate_now else None, rank=rank)
            if out_of_time:
                logger.write(f"stopping at step {ctx.step}: train.max_minutes={t.max_minutes} reached")
                break
    finally:
        ctx.data.close()
        logger.close()
    return {"step": ctx.step, "dev": dev, "skips": ctx.skips.to_dict(), "skipped_steps": ctx.skipped_steps,
            "skipped_nonfinite": dict(ctx.skipped_nonfinite),
            "skipped_items": dict(ctx.skipped_items), "skipped_objective_steps": dict(ctx.skipped_objective_steps),
            "seconds": time.time() - start}


class Timing:
    """``step_s`` and ``data_s`` as logged: means over the steps since the previous logged step — every step
    counts, not only the logged one (a stall on an unlogged step, e.g. a data epoch starting, shows)."""

    def __init__(self) -> None:
        self.step_s, self.data_s, self.steps = 0.0, 0.0, 0

    def add(self, step_s: float, data_s: float) -> None:
        self.step_s, self.data_s, self.steps = self.step_s + step_s, self.data_s + data_s, self.steps + 1

    def means(self) -> dict:
        """The means since the previous call (which starts the next interval)."""
        n = max(self.steps, 1)
        out = {"step_s": self.step_s / n, "data_s": self.data_s / n}
        self.step_s, self.data_s, self.steps = 0.0, 0.0, 0
        return out


def _checkpoint(ctx: TrainContext, manager: CheckpointManager, logger: TrainLogger, dev_eval: DevEval | None,
                rank: int) -> dict | None:
    dev = dev_eval(ctx) if dev_eval is not None and rank == 0 else None
    metrics = None
    if dev is not None:
        metrics = {"score": dev["score"]}
        logger.log(ctx.step, {f"dev/{name}": r["value"] for name, r in dev["objectives"].items()}
                   | {f"dev/average_{k}": v for k, v in dev["average"].items()})
        logger.write(f"step {ctx.step}: dev " + ", ".join(f"{k} {v:.2f}" for k, v in dev["average"].items()))
    streams = stream_states(ctx)  # a collective under objective parallelism: every rank takes part
    if rank == 0:
        manager.save(ctx.step, checkpoint_state(ctx, streams), metrics)
    return dev
