"""One clear message for each bad user file."""
import pytest

from engine.data.userfile import read_text


@pytest.mark.parametrize("content, error, match", [
    (None, FileNotFoundError, "no such text file"),
    (b"", ValueError, "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", ValueError, "looks binary"),
    ("caffè\n".encode("utf-8") + "perché\n".encode("latin-1"), ValueError, "line 2 is not UTF-8"),
])
def test_bad_files(tmp_path, content, error, match):
    path = tmp_path / "mine.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=match):
        read_text(path)


def test_too_big_and_good_files(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_bytes(b"\xef\xbb\xbfhello\n" * 1000)
    assert read_text(path).startswith("hello\n")          # the BOM is dropped
    with pytest.raises(ValueError, match="under 0 MB"):
        read_text(path, max_bytes=100)
