"""Every stream's next batches, prepared ahead in a background thread (``data.prefetch``): the next step's cuts
are drawn, their features read and collated, and the batches finished (to the device, augmented) while the
current step computes.

Why a thread, not ``torch.utils.data.DataLoader`` worker processes: the streams' sampler state (epoch, batches
consumed) and the skip log live in this process and go into every checkpoint; a thread shares them without
pickling the collate function (tokenizers, CMVN). Its cost is the GIL: on a CPU the data thread's Python work
(lhotse's sampler, collation, a small torch op per utterance) delays the training thread between its kernels
by more than the data time it saves — measured on 2 cores, the demo's data time fell from 7.4 % of a step to
0.02 % while the step ran 14 % slower (9 % with one training thread) — so ``data.prefetch: auto`` reads ahead
on a GPU only (:func:`soups.train.loop.prefetch_depth`; docs/performance.md, "Data off the critical path").

Exactness — a run is the same with or without prefetching, and so is its resume:

* batches come in the order the streams give them (one worker, tasks in submission order);
* :meth:`Prefetcher.state_dict` is the streams' state after the batches *delivered*, not after those
  prepared ahead, so a checkpoint resumes at the first batch not yet trained on;
* a cut the length filter skips while a batch is prepared ahead is entered in the skip log when that
  batch is delivered (each task records into its own :class:`SkipLog`, merged on delivery), so the counts
  never include a batch that was not trained on;
* an error raised while preparing (e.g. a :class:`~soups.errors.DataError`) surfaces at the call that would
  have drawn that batch.

>>> data = Prefetcher({"asr_en": stream}, skips, depth=1)   # doctest: +SKIP
>>> batches = data.next()                                 # {"asr_en": Batch}; the next step's are on their way
>>> state = data.state_dict()                             # for the checkpoint
>>> data.close()
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from soups.data.skips import SkipLog
from soups.data.streams import Stream

Finish = Callable[[dict, int], dict]   # (one step's batches, their draw index) -> the batches ready to train on


class Prefetcher:
    """``depth`` steps of batches prepared ahead of :meth:`next` (0: each drawn in the calling thread).

    ``finish(batches, draw)``, if given, completes each set in the same thread (the trainer's: to the device,
    SpecAugment, SSL masking); ``draw`` counts the sets delivered, from 0 or the ``start`` of
    :meth:`load_state_dict` (the trainer's ``step × accumulate + micro``), so its random draws do not depend on
    when the set was prepared."""

    def __init__(self, streams: dict[str, Stream], skips: SkipLog, depth: int = 1, finish: Finish | None = None):
        self.streams, self.skips, self.depth, self.finish = streams, skips, int(depth), finish
        self._delivered = {name: s.state_dict() for name, s in streams.items()}
        self.draw = self._submitted = 0   # the draw index of the next set delivered / submitted
        self._pending: deque[Future] = deque()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="soups-data") if self.depth > 0 else None
        self._closed = False

    def _prepare(self, draw: int) -> tuple[dict, dict, SkipLog]:
        """One step's batches, the streams' state after them and the skips found on the way."""
        found = SkipLog(strict=self.skips.strict, max_examples=self.skips.max_examples)
        batches, states = {}, {}
        for name, stream in self.streams.items():
            stream.skips = found
            batches[name] = stream.next_batch()
            states[name] = stream.state_dict()
        if self.finish is not None:
            batches = self.finish(batches, draw)
        return batches, states, found

    def next(self) -> dict:
        """Every stream's next batch (this rank's shard), collated (and finished); the following ``depth``
        steps' batches are then set under way."""
        if self._closed:
            raise RuntimeError("this Prefetcher is closed (the batches it had prepared ahead were dropped)")
        if self._pool is None:
            batches, states, found = self._prepare(self._submitted)
            self._submitted += 1
        else:
            self._top_up(1)
            batches, states, found = self._pending.popleft().result()
            self._top_up(self.depth)
        self._delivered, self.draw = states, self.draw + 1
        self.skips.merge(found)
        return batches

    def _top_up(self, n: int) -> None:
        while len(self._pending) < n:
            self._pending.append(self._pool.submit(self._prepare, self._submitted))
            self._submitted += 1

    def state_dict(self) -> dict[str, dict]:
        """Each stream's state after the batches delivered so far (the checkpoint's ``streams``)."""
        return {name: dict(state) for name, state in self._delivered.items()}

    def load_state_dict(self, states: dict[str, dict], start: int | None = None) -> None:
        """Drop what was prepared ahead and put every stream at ``states`` (a checkpoint's ``streams``), the
        next draw at ``start`` (default: unchanged)."""
        self._drain()
        for name, stream in self.streams.items():
            stream.skips = self.skips
            stream.load_state_dict(states[name])
        self._delivered = {name: s.state_dict() for name, s in self.streams.items()}
        self.draw = self._submitted = self.draw if start is None else int(start)

    def _drain(self) -> None:
        while self._pending:
            future = self._pending.popleft()
            if not future.cancel():
                future.exception()  # wait; an error of a batch never delivered is not this call's

    def close(self) -> None:
        """Stop the worker (batches prepared ahead are dropped)."""
        self._drain()
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
