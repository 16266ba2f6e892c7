"""Model cards + safetensors store: round trip, atomic writes, corrupt and mismatched files."""
import json

import pytest
import torch

from engine import cards
from engine.cards import ModelCard, ModelLoadError


def _card(name="m"):
    return ModelCard(task="classify", name=name, arch="test", config={"dim": 4},
                     metrics={"accuracy": 0.5}, train_command="seqlab train classify")


def test_round_trip(tmp_path):
    tensors = {"w": torch.randn(3, 4), "ids": torch.arange(5)}
    card = cards.save_model(tmp_path, tensors, _card())
    assert card.params == 12 and card.bytes > 0 and len(card.sha256) == 64
    loaded, card2 = cards.load_model(tmp_path / "m")
    assert torch.equal(loaded["w"], tensors["w"]) and torch.equal(loaded["ids"], tensors["ids"])
    assert card2.to_dict() == card.to_dict()
    assert not list(tmp_path.glob("*.tmp"))           # no temp files left behind
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o644


def test_corrupt_weights_give_a_clear_error(tmp_path):
    cards.save_model(tmp_path, {"w": torch.zeros(2)}, _card())
    path = tmp_path / "m.safetensors"
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(ModelLoadError, match="does not match its card"):
        cards.load_model(tmp_path / "m")


def test_garbage_file_without_checksum_is_reported_not_unpickled(tmp_path):
    cards.save_model(tmp_path, {"w": torch.zeros(2)}, _card())
    card = json.loads((tmp_path / "m.json").read_text())
    card["sha256"] = ""
    (tmp_path / "m.json").write_text(json.dumps(card))
    (tmp_path / "m.safetensors").write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(ModelLoadError, match="not a readable safetensors"):
        cards.load_model(tmp_path / "m")


def test_missing_and_broken_cards(tmp_path):
    with pytest.raises(ModelLoadError, match="no model card"):
        cards.load_model(tmp_path / "absent")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        cards.read_card(tmp_path / "bad.json")


def test_find_model_prefers_the_users_trained_model(seqlab_home):
    from engine import paths
    user_dir = paths.user_models() / "classify"
    cards.save_model(user_dir, {"w": torch.ones(1)}, _card("mine"))
    assert cards.find_model("classify", "mine") == user_dir / "mine"
    with pytest.raises(ModelLoadError, match="no classify model named 'nope'"):
        cards.find_model("classify", "nope")


def test_a_model_copied_under_another_file_name_is_listed_and_loaded_by_that_name(seqlab_home):
    """`seqlab info` once listed such a copy under its old name, which no command could load."""
    import shutil
    from engine import paths
    user_dir = paths.user_models() / "classify"
    cards.save_model(user_dir, {"w": torch.ones(1)}, _card("mine"))
    for suffix in (".json", ".safetensors"):
        shutil.copy(user_dir / f"mine{suffix}", user_dir / f"copy{suffix}")
    names = [c.name for c in cards.list_models("classify")]
    assert "mine" in names and "copy" in names
    _, card = cards.load_model(cards.find_model("classify", "copy"))
    assert card.name == "copy"


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    cards.atomic_write_text(target, "old")

    def boom(*_):
        raise OSError("disk full")
    monkeypatch.setattr(cards.os, "replace", boom)
    with pytest.raises(OSError):
        cards.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert not list(tmp_path.glob(".f.json.*"))


def _strict(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_cards_write_strict_json_with_null_for_missing_metrics(tmp_path):
    card = _card()
    card.metrics = {"accuracy": float("nan"), "n_test": 0, "curve": [1.0, float("inf")]}
    cards.save_model(tmp_path, {"w": torch.zeros(2)}, card)
    assert _strict((tmp_path / "m.json").read_text())["metrics"] == {"accuracy": None, "n_test": 0, "curve": [1.0, None]}


def test_find_model_takes_a_path_to_a_saved_model(tmp_path):
    cards.save_model(tmp_path, {"w": torch.zeros(2)}, _card("mine"))
    for name in (tmp_path / "mine.safetensors", tmp_path / "mine.json", tmp_path / "mine"):
        assert cards.find_model("classify", str(name)) == tmp_path / "mine"
    with pytest.raises(ModelLoadError, match="is a folder"):
        cards.find_model("classify", str(tmp_path))
    with pytest.raises(ModelLoadError, match="no model file at"):
        cards.find_model("classify", str(tmp_path / "other.safetensors"))
    with pytest.raises(ModelLoadError, match="is a model for classify, not for ocr"):
        cards.find_model("ocr", str(tmp_path / "mine"))


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "x" * 101, "a b"])
def test_a_name_that_is_not_a_file_stem_is_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(ValueError, match="cannot name a model"):
        cards.save_model(tmp_path / "models", {"w": torch.zeros(2)}, _card(name))
    assert not any(tmp_path.rglob("*.*"))


def test_file_stems_become_valid_names():
    assert cards.name_from("my file (1)") == "my-file-1"
    assert cards.name_from("critiques_été.v2") == "critiques_été.v2"
    assert cards.name_from("...") == "custom" and cards.name_from("") == "custom"
    for stem in ["my file (1)", "critiques_été.v2", "a" * 300, "-.-x"]:
        assert cards.check_name(cards.name_from(stem))


def test_an_interrupted_atomic_file_leaves_the_old_file_whole(tmp_path):
    """The ARPA file was written in place: a Ctrl-C cut a 16 MB file to 1 MB."""
    target = tmp_path / "lm.arpa"
    target.write_text("the old model\n")
    with pytest.raises(KeyboardInterrupt):
        with cards.atomic_file(target, text=True) as f:
            f.write("half of a new one")
            raise KeyboardInterrupt
    assert target.read_text() == "the old model\n" and not list(tmp_path.glob(".*.tmp"))


def test_unwritable_output_folders_are_refused_before_the_work(tmp_path, monkeypatch):
    """--arpa and eval ocr --errors into a read-only folder failed only after minutes of work.
    (Root may write anywhere, so the read-only folder is simulated.)"""
    import errno
    import tempfile

    from engine.ocr.error_sheet import check_path
    from engine.typeahead.task import check_arpa_path

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("some words\n")
    with pytest.raises(ValueError, match="cannot save the ARPA file lm.arpa in .*Read-only file system"):
        check_arpa_path(str(tmp_path / "lm.arpa"), str(corpus))
    with pytest.raises(ValueError, match="cannot save the error sheet in .*Read-only file system"):
        check_path(str(tmp_path / "errors.png"))


def test_a_folder_named_like_a_card_and_a_model_in_the_wrong_task_folder(seqlab_home):
    """A folder `x.json` made `seqlab info` fail as a whole; a classify model copied into the
    typeahead folder failed deep in the loader with a KeyError."""
    import shutil
    from engine import paths
    classify_dir, typeahead_dir = paths.user_models() / "classify", paths.user_models() / "typeahead"
    cards.save_model(classify_dir, {"w": torch.ones(1)}, _card("mine"))
    (classify_dir / "odd.json").mkdir()
    (classify_dir / "odd.safetensors").write_bytes(b"x")
    assert "mine" in [c.name for c in cards.list_models("classify")]
    typeahead_dir.mkdir(parents=True)
    for suffix in (".json", ".safetensors"):
        shutil.copy(classify_dir / f"mine{suffix}", typeahead_dir / f"intruder{suffix}")
    with pytest.raises(ModelLoadError, match="intruder.safetensors is a model for classify, not for typeahead"):
        cards.find_model("typeahead", "intruder")


def test_a_damaged_user_copy_of_a_shipped_model_says_where_it_is_and_how_back(seqlab_home):
    import shutil
    from engine import paths
    shipped = paths.assets() / "models" / "classify" / "sentiment"
    if not shipped.with_suffix(".safetensors").is_file():
        pytest.skip("the shipped sentiment model is missing")
    mine = paths.user_models() / "classify"
    mine.mkdir(parents=True)
    shutil.copy(shipped.with_suffix(".json"), mine / "sentiment.json")
    (mine / "sentiment.safetensors").write_bytes(shipped.with_suffix(".safetensors").read_bytes()[:1000])
    with pytest.raises(ModelLoadError) as caught:
        cards.load_model(cards.find_model("classify", "sentiment"))
    assert str(mine) in str(caught.value) and "to use the shipped model again" in str(caught.value)


def test_a_name_with_a_dot_is_not_a_suffix(seqlab_home):
    """`--corpus notes.v2.txt` trains `kn-my-notes.v2`, which loaded `kn-my-notes` (or nothing):
    Path.with_suffix took ".v2" for a suffix."""
    from engine import paths
    user_dir = paths.user_models() / "classify"
    cards.save_model(user_dir, {"w": torch.ones(1)}, _card("notes.v2"))
    cards.save_model(user_dir, {"w": torch.zeros(1)}, _card("notes"))
    tensors, card = cards.load_model(cards.find_model("classify", "notes.v2"))
    assert card.name == "notes.v2" and float(tensors["w"][0]) == 1.0
    _, card = cards.load_model(user_dir / "notes.v2.safetensors")       # by path as well
    assert card.name == "notes.v2"
    assert {"notes", "notes.v2"} <= {c.name for c in cards.list_models("classify")}


def test_an_atomic_file_through_a_symlink_or_into_a_pipe(tmp_path):
    """`--arpa` to a symlink replaced the link by a file; to a pipe (`>(gzip > lm.gz)`) it failed."""
    real, link = tmp_path / "real.arpa", tmp_path / "link.arpa"
    real.write_text("old")
    link.symlink_to(real)
    with cards.atomic_file(link, text=True) as f:
        f.write("new")
    assert link.is_symlink() and real.read_text() == "new"
    import os
    import threading
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    with cards.atomic_file(fifo, text=True) as f:
        f.write("through the pipe")
    reader.join(10)
    assert got == ["through the pipe"]
    from engine.typeahead.task import check_arpa_path
    check_arpa_path(str(fifo), str(real))              # a pipe is not refused
