"""One clear message for each bad user file."""
import pytest

from engine.data.userfile import read_text, short_path


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


@pytest.mark.parametrize("make, match", [
    (lambda d: d, "is a folder"),
    (lambda d: "/dev/null", "not a regular file"),
    (lambda d: "", "the path is empty"),
    (lambda d: d / ("x" * 5000), "cannot read"),
])
def test_things_that_are_not_files_say_what_they_are(tmp_path, make, match):
    with pytest.raises(ValueError, match=match) as caught:
        read_text(make(tmp_path))
    assert len(str(caught.value)) < 200                    # a 5,000-letter name is shortened


def test_windows_notepad_unicode_and_old_mac_line_ends_read_as_text(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_bytes("__label__a caffè\r\n__label__b perché\r\n".encode("utf-16"))    # with its BOM
    assert read_text(path) == "__label__a caffè\n__label__b perché\n"
    for big_endian in (False, True):          # UTF-32 was once read as UTF-16: NULs between letters
        path.write_bytes("__label__a caffè\n".encode("utf-32-be" if big_endian else "utf-32"))
        if big_endian:
            path.write_bytes(b"\x00\x00\xfe\xff" + path.read_bytes())
        assert read_text(path) == "__label__a caffè\n"
    path.write_bytes("__label__a caffè\n".encode("utf-32")[:-1])
    with pytest.raises(ValueError, match="starts like UTF-32 but is not"):
        read_text(path)
    path.write_bytes(b"one\rtwo\rthree")
    assert read_text(path).split("\n") == ["one", "two", "three"]


def test_short_path_escapes_control_characters_and_cuts_long_ones():
    assert short_path("ok.png\r") == "ok.png\\r"
    assert len(short_path("a" * 5000)) <= 80
