"""One model, many users: every run that touches a model holds it alone.

A notebook kernel often has several users of one model at once: a widget's sweep on its worker
thread, a second widget, `tw.patch` in the main thread, a user's own nnsight trace. Each of them
changes the shared modules while it runs (tracewidget's executors install hooks and swap block
forwards; nnsight arms one interleaver per model), so two runs that overlap would see each
other's patches. `exclusive` serialises them: a run holds the model's lock for one forward (one
batch of a sweep, one recording, one forward and backward of attribution, one nnsight trace), so
other users' runs interleave between batches and a long sweep never locks out a click.

The lock is re-entrant (a run may start another on the same thread, e.g. ``tw.patch`` inside an
``on_progress`` callback or inside a user's ``with tw.exclusive(model):``) and fair: waiting
runs get the model in the order they asked, so a sweep that asks again right after its batch
cannot starve a waiting one. Waiting is interruptible (KeyboardInterrupt in the main thread
leaves nothing held), and a run that waits says so: through the reporter its caller set with
`reporting_waits` (the widget's status line, a sweep's progress bar), else through a progress
bar of its own once the wait passes `QUIET_WAIT_S`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

QUIET_WAIT_S = 0.5
"""Waits shorter than this (seconds) are not reported: most waits last part of one batch."""

WaitReporter = Callable[[str | None], None]
_REPORTER: ContextVar[WaitReporter | None] = ContextVar("tracewidget_wait_reporter",
                                                        default=None)
_ACTIVITY: ContextVar[str | None] = ContextVar("tracewidget_activity", default=None)


class _FairLock:
    """A re-entrant lock that hands itself to waiting threads in the order they came."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._queue: deque[object] = deque()
        self.holder = ""

    def try_enter(self) -> bool:
        """Take the lock if this thread holds it or nobody waits for it."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._queue:
                self._owner, self._depth = me, 1
                return True
            return False

    def enter(self, poll: Callable[[], None]) -> None:
        """Wait in line for the lock, calling ``poll`` about every 0.1 s while waiting."""
        me, ticket = threading.get_ident(), object()
        with self._cond:
            self._queue.append(ticket)
        try:
            while True:
                with self._cond:
                    if self._owner is None and self._queue[0] is ticket:
                        self._queue.popleft()
                        self._owner, self._depth = me, 1
                        return
                    self._cond.wait(0.1)
                poll()
        except BaseException:
            with self._cond:
                self._queue.remove(ticket)
                self._cond.notify_all()
            raise

    def leave(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self.holder = ""
                self._cond.notify_all()


_LOCKS: weakref.WeakKeyDictionary[Any, _FairLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_of(model: Any) -> _FairLock:
    """The lock of the module that ``model`` wraps: nnsight wrappers of one Hugging Face model
    share it."""
    module = getattr(model, "_module", model)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(module)
        if lock is None:
            lock = _LOCKS[module] = _FairLock()
        return lock


def _describe_self() -> str:
    return _ACTIVITY.get() or f"a run in thread {threading.current_thread().name!r}"


@contextmanager
def exclusive(model: Any) -> Iterator[None]:
    """Hold ``model`` alone for the block: no other tracewidget run, widget sweep or trace of a
    model loaded by `tw.load_model` runs on it until the block ends.

    tracewidget takes it around every forward it runs. Wrap your own code in it when it runs a
    model that a widget may be using at the same time, e.g. forwards of the Hugging Face module
    or traces of an nnsight model you built yourself::

        with tw.exclusive(model):
            logits = hf_model(ids).logits
    """
    lock = _lock_of(model)
    if not lock.try_enter():
        _wait(lock)
    outer = lock.holder
    lock.holder = outer or _describe_self()
    try:
        yield
    finally:
        lock.leave()


def _wait(lock: _FairLock) -> None:
    """Wait for ``lock``, reporting the wait once it passes `QUIET_WAIT_S`."""
    started = time.monotonic()
    reporter = _REPORTER.get()
    bar = None
    reported = False

    def poll() -> None:
        nonlocal bar, reported
        if time.monotonic() - started < QUIET_WAIT_S:
            return
        message = f"waiting for {lock.holder or 'another run'} on this model"
        if reporter is not None:
            if not reported:
                reporter(message)
                reported = True
        elif bar is None:
            from tqdm.auto import tqdm

            bar = tqdm(total=None, desc=message, bar_format="{desc} ({elapsed})", leave=False)
        else:
            bar.refresh()

    try:
        lock.enter(poll)
    finally:
        if bar is not None:
            bar.close()
        if reported and reporter is not None:
            reporter(None)


@contextmanager
def reporting_waits(reporter: WaitReporter, activity: str | None = None) -> Iterator[None]:
    """In this block, a run that waits for its model calls ``reporter(message)`` when the wait
    passes `QUIET_WAIT_S` and ``reporter(None)`` when it has the model; ``activity`` names this
    block's runs in the messages that *other* waiting runs show ("a TraceWidget sweep")."""
    tokens = (_REPORTER.set(reporter), _ACTIVITY.set(activity or _ACTIVITY.get()))
    try:
        yield
    finally:
        _ACTIVITY.reset(tokens[1])
        _REPORTER.reset(tokens[0])


__all__ = ["QUIET_WAIT_S", "exclusive", "reporting_waits"]
