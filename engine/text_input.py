"""What every text task checks before reading a text it was given (typed, pasted or piped): the one
clear message for input that is not text. `seqlab predict ... -` reads stdin with
errors="surrogateescape" (cli.py), so bytes that are not UTF-8 arrive as lone surrogates
instead of an exception."""
from __future__ import annotations


def not_text(text: str) -> str | None:
    """Why `text` cannot be read as text (binary data, or bytes that are not UTF-8), or None."""
    if "\x00" in text:
        return "this looks like binary data, not text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "this text is not valid UTF-8"
    return None
