"""Ctrl-C in a terminal reaches every process of the group: one line, exit 130, nothing lost."""
import os
import signal
import subprocess
import sys
import time

import pytest


def interrupt_when(args, marker, env, timeout: float = 120):
    """Run `seqlab ARGS` in its own process group, send SIGINT to the group (as a terminal's
    Ctrl-C does) once `marker` shows on stderr (or after `marker` seconds); (exit code, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "desktop.app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    seen, deadline = [], time.monotonic() + timeout
    if isinstance(marker, (int, float)):
        time.sleep(marker)
    while isinstance(marker, str) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if marker in line or not line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    rest = proc.communicate(timeout=60)[1]
    return proc.returncode, "".join(seen) + rest


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_ctrl_c_in_a_hogwild_training_is_one_line_and_keeps_the_model(seqlab_home, tmp_path):
    env = dict(os.environ, SEQLAB_HOME=str(seqlab_home))
    out = tmp_path / "out"
    code, err = interrupt_when(["train", "classify", "--epochs", "3000", "--threads", "2", "--name", "keep",
                                "--out", str(out)], "Hogwild workers", env)
    assert code == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert "the previous model is kept" in err
    assert not list(out.glob("*"))                   # nothing written, no temp file


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
@pytest.mark.parametrize("after_s", [1.0, 4.0])        # during the warm-up, and once tabs load
def test_ctrl_c_during_the_self_test_is_one_line(seqlab_home, after_s):
    """It printed a traceback, or one inside a Qt slot and then hung for 120 s."""
    env = dict(os.environ, SEQLAB_HOME=str(seqlab_home), QT_QPA_PLATFORM="offscreen")
    t0 = time.monotonic()
    code, err = interrupt_when(["--self-test"], after_s, env)
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted", err[-2000:]
    assert "Traceback" not in err and time.monotonic() - t0 < 60


def _children(pid: int) -> list[int]:
    kids = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(stat))
    return kids


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_hogwild_workers_stop_when_their_parent_is_killed(seqlab_home, tmp_path):
    """Workers ignore Ctrl-C (their parent stops them); a killed parent left them running."""
    env = dict(os.environ, SEQLAB_HOME=str(seqlab_home))
    proc = subprocess.Popen([sys.executable, "-m", "desktop.app", "train", "classify", "--epochs", "3000",
                             "--threads", "2", "--out", str(tmp_path / "out")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "Hogwild workers" not in proc.stderr.readline():
        pass
    workers = _children(proc.pid)
    assert len(workers) == 2
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_running(w) for w in workers):
        time.sleep(0.2)
    alive = [w for w in workers if _running(w)]
    for w in alive:
        os.kill(w, signal.SIGKILL)
    assert not alive


def _running(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"   # not a zombie
    except OSError:
        return False
