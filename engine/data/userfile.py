"""Reading a file the user picked: one clear error for each way it can be wrong.

Every task that trains on "your own file" reads it through ``read_text`` so that a missing,
huge, binary or non-UTF-8 file gets the same kind of message everywhere.
"""
from __future__ import annotations

from pathlib import Path

MAX_BYTES = 200 * 1024 * 1024


def read_text(path, max_bytes: int = MAX_BYTES, kind: str = "text file") -> str:
    """The file's text with "\n" line ends (UTF-8, a BOM allowed, or UTF-16 / UTF-32 with their BOM:
    what Windows Notepad saves as "Unicode"), or FileNotFoundError / ValueError saying why not."""
    if not str(path).strip():
        raise ValueError(f"no {kind} given (the path is empty)")
    p = Path(path)
    shown = short_path(p)
    try:
        is_dir, exists, is_file = p.is_dir(), p.exists(), p.is_file()
        size = p.stat().st_size if is_file else 0
    except OSError as exc:                       # e.g. a name longer than the system allows
        raise ValueError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if is_dir:
        raise ValueError(f"{shown} is a folder, not a {kind}")
    if not exists:
        raise FileNotFoundError(f"no such {kind}: {shown}")
    if not is_file:
        raise ValueError(f"{shown} is not a regular file (a device or a pipe?); give a {kind}")
    if size == 0:
        raise ValueError(f"{p.name} is empty")
    if size > max_bytes:
        raise ValueError(f"{p.name} is {size / 2**20:.0f} MB; give a {kind} under "
                         f"{max_bytes // 2**20} MB")
    raw = p.read_bytes()
    # UTF-32's little-endian BOM starts with UTF-16's, so it is looked for first
    for encoding, boms in (("utf-32", (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")),
                           ("utf-16", (b"\xff\xfe", b"\xfe\xff"))):
        if raw.startswith(boms):
            try:
                return _unix_lines(raw.decode(encoding))
            except UnicodeDecodeError:
                raise ValueError(f"{p.name} starts like {encoding.upper()} but is not; save it as UTF-8") from None
    if b"\x00" in raw[:65536]:
        raise ValueError(f"{p.name} looks binary, not a {kind}")
    try:
        return _unix_lines(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{p.name} line {line} is not UTF-8 (mixed encodings?); save the file "
                         "as UTF-8 and try again") from None


def _unix_lines(text: str) -> str:
    """Windows (CRLF) and old Mac (CR) line ends as "\n": a CR-only file once read as one line."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def short_path(path, limit: int = 80) -> str:
    """A path fit for a one-line message: control characters shown escaped, and a long one cut
    in the middle (a 5 MB line read as a file name once became a 5 MB error message)."""
    text = str(path).encode("unicode_escape", "backslashreplace").decode("ascii") \
        if not str(path).isprintable() else str(path)
    return text if len(text) <= limit else f"{text[:limit // 2 - 1]}…{text[-(limit // 2 - 1):]}"
