"""One stop policy for long commands: SIGTERM and SIGHUP stop a job the way Ctrl-C does.

docker stop, systemd and ROS launch end a process with SIGTERM (a closed terminal sends SIGHUP);
Python's default for both is to die on the spot, losing the output file, the statistics and any
checkpoint. Within `graceful_stop()` they take the Ctrl-C path instead:

- `interrupt=True` (the default, what the CLI wraps every command in): the first signal raises
  `Stopped`, a KeyboardInterrupt, in the main thread, so code that already finishes cleanly on
  Ctrl-C (the stream pipeline drains and closes its file) does the same on SIGTERM, and atomic
  writes (edgeseg.fileio) leave no half file behind.
- `interrupt=False`: the first signal only sets `StopRequest.event`; a loop polls `requested`
  and stops at its next safe point (training: after the step, with a checkpoint). A second
  signal raises `Stopped` at once, as a second Ctrl-C does.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

# SIGINT too, so that Ctrl-C is recorded by name and polled like the others
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A stop asked for by a signal; `signal_name` says which (e.g. "SIGTERM")."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class StopRequest:
    """What `graceful_stop` yields: set once a stop signal arrived."""

    event: threading.Event = field(default_factory=threading.Event)
    signal_name: str | None = None  # the first signal received

    @property
    def requested(self) -> bool:
        return self.event.is_set()


def signal_name(stop: BaseException) -> str:
    """The signal behind a KeyboardInterrupt: a `Stopped` names it, a bare one is Ctrl-C."""
    return stop.signal_name if isinstance(stop, Stopped) else "SIGINT"


@contextmanager
def graceful_stop(interrupt: bool = True) -> Iterator[StopRequest]:
    """Handle SIGINT, SIGTERM and SIGHUP as one graceful stop for the block; the previous handlers
    come back on exit. Outside the main thread (where Python cannot install handlers) the block
    runs with the handlers as they are, and `requested` stays False."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        first = not request.event.is_set()
        if first:
            request.signal_name = name
            request.event.set()
        if interrupt or not first:
            raise Stopped(name)

    previous = {s: signal.signal(s, handle) for s in SIGNALS}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, signal.SIG_DFL if h is None else h)  # None: a handler set outside Python


def ignore_stop_signals(_worker_id: int | None = None) -> None:
    """For child processes that the parent stops (DataLoader workers: `worker_init_fn`). A signal
    sent to the whole process group (a terminal, systemd) would otherwise kill a worker mid-batch,
    and training would end in "DataLoader worker killed" instead of at its next step's checkpoint.
    A child started under `stop_signals_held` has them pending from its birth; ignored, they are
    dropped when unblocked here."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """Keep the stop signals pending in this thread while it starts children that
    `ignore_stop_signals`. A forked child inherits the mask, so a group-wide SIGTERM sent between
    its fork and its init (torch's worker installs a killing SIGTERM handler first) waits instead of
    killing it; this process gets any it held when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no masks, and no group-wide SIGTERM
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
