"""Build the one-folder bundle and smoke-test it.

    python3 packaging/build.py            # build dist/seqlab/, then run its --self-test offscreen
    python3 packaging/build.py --no-build # only the smoke test of an existing bundle

Prints the build time, the bundle size and the smoke test's result as one JSON line.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
BUNDLE = DIST / "seqlab"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


class BuildError(Exception):
    """One line for the user instead of a traceback."""


def build() -> float:
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildError("PyInstaller is not installed: pip install -e '.[bundle]'")
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                           "--distpath", str(DIST), "--workpath", str(ROOT / "build" / "pyinstaller"),
                           str(ROOT / "packaging" / "seqlab.spec")], cwd=ROOT)
    if done.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {done.returncode}); its output is above")
    return time.monotonic() - t0


def smoke_test() -> tuple[bool, str, float]:
    exe = BUNDLE / ("seqlab.exe" if os.name == "nt" else "seqlab")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SEQLAB_HOME=str(ROOT / "build" / "smoke-home"))
    t0 = time.monotonic()
    r = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, timeout=900,
                       env=env, cwd="/")
    return r.returncode == 0, (r.stdout + r.stderr).strip(), time.monotonic() - t0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()
    try:
        seconds = None if args.no_build else build()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not BUNDLE.is_dir():
        print(f"error: no bundle at {BUNDLE}: build it first (without --no-build)", file=sys.stderr)
        return 1
    ok, output, test_seconds = smoke_test()
    print(output)
    print(json.dumps({"build_seconds": round(seconds, 1) if seconds else None,
                      "bundle_bytes": folder_size(BUNDLE), "bundle_mb": round(folder_size(BUNDLE) / 1e6, 1),
                      "self_test_ok": ok, "self_test_seconds": round(test_seconds, 1)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
