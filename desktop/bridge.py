"""EngineBridge: engine callbacks (on worker threads) -> queued Qt signals -> the tab's callables,
run on the GUI thread.

Tabs call ``bridge.submit(fn, *args, lane=..., channel=..., on_done=..., on_progress=...,
on_error=...)`` with plain methods of their own. The engine calls back on its worker thread; the
bridge only emits a signal carrying the ticket id, and its ``@Slot`` methods (living on the GUI
thread, connected with a queued connection) look up and call the tab's callables. No lambda is
ever connected across threads (that deadlocked here), and no tab callable ever runs off the GUI
thread. Progress events are throttled to at most one every 50 ms per ticket (the last one, a
checkpoint and the first event of a phase always arrive).
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from PySide6.QtCore import QObject, QThread, Qt, Signal, Slot

from engine.runtime import BACKGROUND, INTERACTIVE, Engine, Progress, Ticket, starts_phase

PROGRESS_INTERVAL_S = 0.05


class EngineBridge(QObject):
    # ticket id, result — a job finished
    jobDone = Signal(int, object)
    # ticket id, progress event — a long job reported progress (throttled)
    jobProgress = Signal(int, object)
    # ticket id, readable message ("cancelled" when cancelled) — a job failed or was cancelled
    jobFailed = Signal(int, str)
    # device string — the engine moved to another device
    deviceChanged = Signal(str)
    # "warming up" / "ready" — torch warm-up state
    engineState = Signal(str)

    def __init__(self, engine: Engine, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.engine = engine
        self._handlers: dict[int, tuple] = {}
        self._last_progress: dict[int, tuple] = {}     # ticket -> (time, message) last passed on
        self._lock = threading.RLock()  # re-entrant: a submit may cancel (and call back) an older ticket
        queued = Qt.ConnectionType.QueuedConnection
        self.jobDone.connect(self._on_done, queued)
        self.jobProgress.connect(self._on_progress, queued)
        self.jobFailed.connect(self._on_failed, queued)

    # -- called from the GUI thread ---------------------------------------------------------
    def submit(self, fn: Callable, *args, lane: str = INTERACTIVE, channel: Optional[str] = None,
               on_done: Optional[Callable] = None, on_progress: Optional[Callable] = None,
               on_error: Optional[Callable] = None, **kwargs) -> Ticket:
        holder: dict = {}

        def ticket_id() -> int:
            with self._lock:          # waits until submit() below has registered the ticket
                return holder["id"]

        def done(result):
            self.jobDone.emit(ticket_id(), result)

        def progress(event):
            now = time.monotonic()
            tid = ticket_id()
            last, said = self._last_progress.get(tid, (0.0, None))
            final = isinstance(event, Progress) and event.total and event.step >= event.total
            if final or starts_phase(event, said) or event_carries_checkpoint(event) \
                    or now - last >= PROGRESS_INTERVAL_S:
                self._last_progress[tid] = (now, getattr(event, "message", None) or said)
                self.jobProgress.emit(tid, event)

        def failed(message):
            self.jobFailed.emit(ticket_id(), message)

        # Register the handlers under the lock that the callbacks' first emit cannot pass
        # before the ticket id is known.
        with self._lock:
            ticket = self.engine.submit(fn, *args, lane=lane, channel=channel, on_done=done,
                                        on_progress=progress, on_error=failed, **kwargs)
            holder["id"] = ticket.id
            self._handlers[ticket.id] = (on_done, on_progress, on_error)
        return ticket

    # -- slots: run on the GUI thread ----------------------------------------------------------
    def _take(self, tid: int, keep: bool = False):
        with self._lock:
            return self._handlers.get(tid) if keep else self._handlers.pop(tid, None)

    @Slot(int, object)
    def _on_done(self, tid: int, result) -> None:
        assert QThread.currentThread() is self.thread()
        handlers = self._take(tid)
        self._last_progress.pop(tid, None)
        if handlers and handlers[0]:
            handlers[0](result)

    @Slot(int, object)
    def _on_progress(self, tid: int, event) -> None:
        handlers = self._take(tid, keep=True)
        if handlers and handlers[1]:
            handlers[1](event)

    @Slot(int, str)
    def _on_failed(self, tid: int, message: str) -> None:
        handlers = self._take(tid)
        self._last_progress.pop(tid, None)
        if handlers and handlers[2]:
            handlers[2](message)

    def forget(self, ticket: Optional[Ticket]) -> None:
        """Cancel a ticket and drop its handlers (a closing tab must not be called back)."""
        if ticket is None:
            return
        ticket.cancel()
        with self._lock:
            self._handlers.pop(ticket.id, None)


def event_carries_checkpoint(event) -> bool:
    return isinstance(event, Progress) and event.checkpoint is not None


__all__ = ["EngineBridge", "INTERACTIVE", "BACKGROUND"]
