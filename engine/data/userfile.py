"""Reading a file the user picked: one clear error for each way it can be wrong.

Every task that trains on "your own file" reads it through ``read_text`` so that a missing,
huge, binary or non-UTF-8 file gets the same kind of message everywhere.
"""
from __future__ import annotations

from pathlib import Path

MAX_BYTES = 200 * 1024 * 1024


def read_text(path, max_bytes: int = MAX_BYTES, kind: str = "text file") -> str:
    """The file's text (UTF-8, a BOM allowed), or FileNotFoundError / ValueError saying why not."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such {kind}: {p}")
    size = p.stat().st_size
    if size == 0:
        raise ValueError(f"{p.name} is empty")
    if size > max_bytes:
        raise ValueError(f"{p.name} is {size / 2**20:.0f} MB; give a {kind} under "
                         f"{max_bytes // 2**20} MB")
    raw = p.read_bytes()
    if b"\x00" in raw[:65536]:
        raise ValueError(f"{p.name} looks binary, not a {kind}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{p.name} line {line} is not UTF-8 (mixed encodings?); save the file "
                         "as UTF-8 and try again") from None
