"""Test setup: Qt offscreen (pytest-qt aborts without a display), and a private SEQLAB_HOME so
tests never touch the user's settings, trained models or data cache — except that the data cache
is shared read-only when it exists, so data-backed tests do not download twice."""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def seqlab_home(tmp_path, monkeypatch):
    """Each test gets an empty per-user folder; the real data cache stays reachable."""
    from engine import paths
    real_cache = paths.user_cache()
    home = tmp_path / "seqlab-home"
    monkeypatch.setenv("SEQLAB_HOME", str(home))
    if (real_cache / "data").exists():
        (home / "cache").mkdir(parents=True)
        (home / "cache" / "data").symlink_to(real_cache / "data", target_is_directory=True)
    return home
