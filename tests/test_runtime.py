"""Engine job semantics with real threads: ordering, latest-wins, cancel, progress, failure,
shutdown, lanes running in parallel."""
import threading
import time

import pytest

from engine.runtime import (BACKGROUND, INTERACTIVE, Cancelled, Engine, JobError, ModelSlot,
                            Progress)


@pytest.fixture
def engine():
    e = Engine("cpu")
    yield e
    assert e.shutdown(wait=5.0)


def test_jobs_on_a_lane_run_in_submission_order(engine):
    seen = []
    tickets = [engine.submit(seen.append, i) for i in range(20)]
    for t in tickets:
        t.wait(5)
    assert seen == list(range(20))


def test_result_and_on_done(engine):
    got = []
    t = engine.submit(lambda a, b: a * b, 6, 7, on_done=got.append)
    assert t.wait(5) == 42
    assert got == [42] and t.state == "done"


def test_latest_wins_drops_queued_jobs_on_the_same_channel(engine):
    gate = threading.Event()
    engine.submit(gate.wait, 5)                       # blocks the lane
    ran = []
    first = engine.submit(ran.append, "first", channel="typing")
    second = engine.submit(ran.append, "second", channel="typing")
    other = engine.submit(ran.append, "other", channel="elsewhere")
    gate.set()
    assert second.wait(5) is None and other.wait(5) is None
    assert first.state == "cancelled"
    with pytest.raises(Cancelled):
        first.wait(1)
    assert ran == ["second", "other"]


def test_latest_wins_stops_the_running_long_job(engine):
    def slow():
        for i in range(1000):
            time.sleep(0.01)
            yield Progress(i, 1000)
        return "finished"
    old = engine.submit(slow, channel="c")
    time.sleep(0.05)
    new = engine.submit(lambda: "new", channel="c")
    assert new.wait(5) == "new"
    assert old.state == "cancelled"


def test_cancel_a_long_job_between_progress_events(engine):
    steps, closed = [], threading.Event()

    def train():
        try:
            for i in range(10_000):
                time.sleep(0.002)
                yield Progress(i, 10_000, loss=1.0 / (i + 1))
        finally:
            closed.set()                             # cleanup runs: the old model is kept
    t = engine.submit(train, lane=BACKGROUND, on_progress=lambda e: steps.append(e.step))
    while len(steps) < 5:
        time.sleep(0.005)
    t.cancel()
    with pytest.raises(Cancelled):
        t.wait(5)
    assert closed.wait(1)
    assert 5 <= len(steps) < 10_000


def test_a_cancel_after_the_last_step_reports_done_because_the_work_was_done(engine):
    """A training evaluates and saves after its last yield: a cancel pressed then once said
    "cancelled: the previous model is kept" while the new model was written."""
    last_step, release, saved = threading.Event(), threading.Event(), []

    def train():
        yield Progress(1, 1, message="saving")
        last_step.set()
        release.wait(5)                              # the save, under way when Cancel comes
        saved.append("model")
        return "card"
    t = engine.submit(train, lane=BACKGROUND)
    assert last_step.wait(5)
    t.cancel()
    release.set()
    assert t.wait(5) == "card" and t.state == "done" and saved == ["model"]


def test_a_cancel_before_the_last_step_stops_the_job_before_it_writes(engine):
    evaluating, release, saved = threading.Event(), threading.Event(), []

    def train():
        yield Progress(0, 1, message="evaluating")
        evaluating.set()
        release.wait(5)                              # the evaluation, under way when Cancel comes
        yield Progress(1, 1, message="saving")
        saved.append("model")
    t = engine.submit(train, lane=BACKGROUND)
    assert evaluating.wait(5)
    t.cancel()
    release.set()
    with pytest.raises(Cancelled):
        t.wait(5)
    assert saved == []


def test_progress_events_arrive_in_order_and_result_is_the_return_value(engine):
    events = []

    def train():
        for i in range(1, 6):
            yield Progress(i, 5, loss=float(i))
        return "model"
    t = engine.submit(train, lane=BACKGROUND, on_progress=events.append)
    assert t.wait(5) == "model"
    assert [e.step for e in events] == [1, 2, 3, 4, 5]
    assert events[-1].fraction == 1.0


def test_failure_is_a_readable_message_and_the_lane_survives(engine):
    errors = []
    t = engine.submit(lambda: open("/nonexistent/file.txt"), on_error=errors.append)
    with pytest.raises(JobError, match="No such file"):
        t.wait(5)
    assert t.state == "failed" and "Traceback" not in t.error and errors == [t.error]
    assert engine.submit(lambda: "still alive").wait(5) == "still alive"


def test_a_broken_callback_does_not_kill_the_lane(engine):
    def bad(_):
        raise RuntimeError("callback bug")
    engine.submit(lambda: 1, on_done=bad).wait(5)
    assert engine.submit(lambda: 2).wait(5) == 2


def test_lanes_run_in_parallel(engine):
    gate = threading.Event()
    blocker = engine.submit(gate.wait, 10, lane=BACKGROUND)
    # the interactive lane answers while the background lane is busy
    assert engine.submit(lambda: "fast", lane=INTERACTIVE).wait(2) == "fast"
    assert engine.busy(BACKGROUND)
    gate.set()
    blocker.wait(5)


def test_shutdown_cancels_pending_and_stops_threads():
    e = Engine("cpu")
    gate = threading.Event()
    e.submit(gate.wait, 0.2)
    pending = e.submit(lambda: "never")
    assert e.shutdown(wait=5.0)
    assert pending.state == "cancelled"
    with pytest.raises(RuntimeError, match="shut down"):
        e.submit(lambda: 1)


def test_unknown_lane_is_rejected(engine):
    with pytest.raises(ValueError, match="unknown lane"):
        engine.submit(lambda: 1, lane="fast")


def test_model_slot_swaps_under_a_lock():
    slot = ModelSlot("v0")
    slot.publish("v1")
    assert slot.get() == "v1" and slot.version == 1
