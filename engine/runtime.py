"""The engine: two worker lanes that run every model job off the GUI thread.

Jobs are plain callables. A job that returns a *generator* is a long job: each value it yields
is a progress event handed to ``on_progress``, and between two yields the engine checks for
cancellation (so a training loop that yields once per step is cancellable at every step, and
knows nothing about threads). The generator's ``return`` value is the job's result.

    engine = Engine()
    t = engine.submit(model.predict, text, lane="interactive", channel="classify.predict",
                      on_done=show)
    t = engine.submit(train, config, lane="background", on_progress=plot)
    t.cancel()

A *channel* is latest-wins: submitting on a channel drops the job still queued there, and asks
the one running there to stop, so typing fast never builds a backlog.

Callbacks run on the lane's worker thread. The Qt side (desktop/bridge.py) turns them into
queued signals; the engine never imports Qt.
"""
from __future__ import annotations

import collections
import dataclasses
import inspect
import itertools
import threading
import time
import traceback
from typing import Any, Callable, Optional

INTERACTIVE = "interactive"
BACKGROUND = "background"
LANES = (INTERACTIVE, BACKGROUND)


class Cancelled(Exception):
    """Raised inside a job (or by Ticket.wait) when the job was cancelled."""


class JobError(Exception):
    """Raised by Ticket.wait when the job failed; the message is readable by a user."""


@dataclasses.dataclass
class Progress:
    """One progress event of a long job (what a training loop yields)."""
    step: int
    total: int
    loss: Optional[float] = None
    metrics: dict = dataclasses.field(default_factory=dict)
    message: str = ""
    # A model (or anything) the interactive lane may start using now: training publishes
    # weights at checkpoints so the tab's live predictions improve while it trains.
    checkpoint: Any = None

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


def starts_phase(event, last_message: str | None) -> bool:
    """Whether a throttled progress display must show `event` anyway: the first event of a new
    phase ("evaluating…", step 0) may come right after the last training step, and the phase may
    then run for a minute with no other event (the GUI panel and the CLI both once hid it)."""
    return (isinstance(event, Progress) and event.step == 0 and bool(event.message)
            and event.message != last_message)


def readable(exc: BaseException) -> str:
    """One line a user can read: the exception's own message, or its type when it has none."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    ours = type(exc).__module__.startswith("engine.")   # our own errors are written for users
    if text and (ours or isinstance(exc, (ValueError, OSError, UnicodeError, KeyError, RuntimeError))):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Ticket:
    """A handle on one submitted job: its state, result, error, and a way to cancel it."""
    _ids = itertools.count(1)

    def __init__(self, fn, args, kwargs, lane, channel, on_done, on_progress, on_error):
        self.id = next(Ticket._ids)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.lane, self.channel = lane, channel
        self.on_done, self.on_progress, self.on_error = on_done, on_progress, on_error
        self.state = "queued"          # queued -> running -> done | failed | cancelled
        self.result: Any = None
        self.error: str = ""           # readable message when failed
        self.traceback: str = ""       # for logs, never shown as the message
        self._cancel = threading.Event()
        self._finished = threading.Event()

    # -- for the caller ---------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop: a queued job never runs, a running long job stops at its next yield."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: Optional[float] = None) -> Any:
        """Block until the job ends; return its result, or raise JobError / Cancelled / TimeoutError."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"job {self.id} still running after {timeout} s")
        if self.state == "failed":
            raise JobError(self.error)
        if self.state == "cancelled":
            raise Cancelled(f"job {self.id} was cancelled")
        return self.result

    def __repr__(self) -> str:
        return f"<Ticket {self.id} {self.lane}/{self.channel} {self.state}>"


class _Lane:
    """One worker thread and its queue of tickets (FIFO)."""

    def __init__(self, name: str):
        self.name = name
        self.queue: collections.deque[Ticket] = collections.deque()
        self.cond = threading.Condition()
        self.running: Optional[Ticket] = None
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name=f"seqlab-{name}", daemon=True)
        self.thread.start()

    def put(self, ticket: Ticket) -> None:
        with self.cond:
            if self.stopping:
                raise RuntimeError("the engine is shut down")
            if ticket.channel is not None:      # latest wins on a channel
                for old in [t for t in self.queue if t.channel == ticket.channel]:
                    self.queue.remove(old)
                    old.cancel()
                    _finish(old, "cancelled")
                if self.running is not None and self.running.channel == ticket.channel:
                    self.running.cancel()
            self.queue.append(ticket)
            self.cond.notify()

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.stopping:
                    self.cond.wait()
                if self.stopping and not self.queue:
                    return
                ticket = self.queue.popleft()
                self.running = ticket
            try:
                _run(ticket)
            finally:
                with self.cond:
                    self.running = None

    def stop(self, cancel_pending: bool) -> None:
        with self.cond:
            self.stopping = True
            if cancel_pending:
                while self.queue:
                    t = self.queue.popleft()
                    t.cancel()
                    _finish(t, "cancelled")
                if self.running is not None:
                    self.running.cancel()
            self.cond.notify_all()


def _call(cb: Optional[Callable], *args) -> None:
    """Run a user callback; a broken callback must never kill the lane."""
    if cb is None:
        return
    try:
        cb(*args)
    except Exception:  # noqa: BLE001 - logged, the lane keeps running
        traceback.print_exc()


def _finish(ticket: Ticket, state: str) -> None:
    ticket.state = state
    ticket._finished.set()
    if state == "done":
        _call(ticket.on_done, ticket.result)
    elif state == "failed":
        _call(ticket.on_error, ticket.error)
    elif state == "cancelled":
        _call(ticket.on_error, "cancelled")


def _run(ticket: Ticket) -> None:
    if ticket.cancelled:
        return _finish(ticket, "cancelled")
    ticket.state = "running"
    try:
        out = ticket.fn(*ticket.args, **ticket.kwargs)
        if inspect.isgenerator(out):
            ticket.result = _drive(ticket, out)
            # A long job that ran to its end has done its work (a training saved its model), even
            # when a cancel came after its last step: saying "cancelled" would be untrue. Jobs
            # that write yield just before writing, so a cancel up to then does stop them.
            return _finish(ticket, "done")
        ticket.result = out
    except Cancelled:
        return _finish(ticket, "cancelled")
    except BaseException as exc:  # noqa: BLE001 - a job's failure is data, not a crash
        ticket.error = readable(exc)
        ticket.traceback = traceback.format_exc()
        return _finish(ticket, "failed")
    # A job cancelled while it ran (e.g. superseded on its channel) delivers no stale result.
    _finish(ticket, "cancelled" if ticket.cancelled else "done")


def run_to_end(gen) -> Any:
    """A long job's result without an engine (CLI, scripts, tests): its progress is dropped."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def _drive(ticket: Ticket, gen) -> Any:
    """Iterate a long job, forwarding progress and stopping it when cancelled."""
    try:
        while True:
            if ticket.cancelled:
                gen.close()
                raise Cancelled()
            event = next(gen)
            _call(ticket.on_progress, event)
    except StopIteration as stop:
        return stop.value


class Engine:
    """Owns the device and the two lanes. Thread-safe; never imports Qt."""

    def __init__(self, device: Optional[str] = None):
        from engine import device as devices
        # Resolving the device imports torch (seconds): it happens on first use of `.device`
        # (the GUI's warm-up job does it on the background lane), never in the constructor.
        self._requested = devices.validate_name(device)
        self._device: Optional[str] = None
        self._lanes = {name: _Lane(name) for name in LANES}
        self._closed = False

    @property
    def device(self) -> str:
        """The torch device string ('cpu', 'cuda:0', 'mps'); raises ValueError if unavailable."""
        if self._device is None:
            from engine import device as devices
            self._device = devices.choose(self._requested)
        return self._device

    def submit(self, fn: Callable, *args, lane: str = INTERACTIVE, channel: Optional[str] = None,
               on_done: Optional[Callable] = None, on_progress: Optional[Callable] = None,
               on_error: Optional[Callable] = None, **kwargs) -> Ticket:
        if lane not in self._lanes:
            raise ValueError(f"unknown lane {lane!r}; use one of {LANES}")
        ticket = Ticket(fn, args, kwargs, lane, channel, on_done, on_progress, on_error)
        self._lanes[lane].put(ticket)
        return ticket

    def busy(self, lane: str) -> bool:
        ln = self._lanes[lane]
        with ln.cond:
            return ln.running is not None or bool(ln.queue)

    def set_device(self, name: str) -> str:
        """Switch device ('auto', 'cpu', 'cuda', 'mps'); models move when next asked for."""
        from engine import device as devices
        self._device = devices.choose(name)
        self._requested = name
        return self._device

    def shutdown(self, wait: float = 5.0, cancel_pending: bool = True) -> bool:
        """Stop both lanes; True if both threads ended within `wait` seconds."""
        if self._closed:
            return True
        self._closed = True
        for ln in self._lanes.values():
            ln.stop(cancel_pending)
        deadline = time.monotonic() + wait
        for ln in self._lanes.values():
            ln.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(ln.thread.is_alive() for ln in self._lanes.values())


class ModelSlot:
    """The model a tab predicts with, swappable under a lock while training publishes new weights."""

    def __init__(self, model: Any = None):
        self._model = model
        self._lock = threading.Lock()
        self.version = 0

    def get(self) -> Any:
        with self._lock:
            return self._model

    def publish(self, model: Any) -> None:
        with self._lock:
            self._model = model
            self.version += 1
