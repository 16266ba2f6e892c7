"""Translation engine: data split, TSV reader, BPE words, the training generator, the Translator
contract (alignment, n-best, bad input), the CLI. Tiny configs: the real model is tested `slow`."""
import json
import math
import shutil

import pytest
import torch

from engine import cards, cli, paths
from engine.runtime import Progress
from engine.translate import bpe, data
from engine.translate.train import TrainConfig, train
from engine.translate.translator import MAX_WORDS, Translator, split_input

PAIRS = [("il gatto dorme", "the cat sleeps"), ("il cane dorme", "the dog sleeps"),
         ("il gatto mangia", "the cat eats"), ("il cane mangia", "the dog eats"),
         ("la donna canta", "the woman sings"), ("la donna mangia", "the woman eats"),
         ("il re parla", "the king speaks"), ("il re dorme", "the king sleeps"),
         ("la donna parla", "the woman speaks"), ("il gatto canta", "the cat sings"),
         ("il cane parla", "the dog speaks"), ("il re mangia", "the king eats")]


def run(gen):
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return events, stop.value


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny Bible model trained for a few steps (weights + card in a folder)."""
    out = tmp_path_factory.mktemp("tiny")
    cfg = TrainConfig(name="tiny", limit=200, epochs=1, batch_size=32, hidden=24, emb=16,
                      src_vocab=300, tgt_vocab=300, eval_every=3, test_bleu=False)
    torch.set_num_threads(1)
    events, card = run(train(cfg, out))
    return out, events, card


def install(folder, name):
    dest = paths.user_models() / "translate"
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(folder / f"{name}{suffix}", dest / f"{name}{suffix}")
    return dest


# -- data ---------------------------------------------------------------------------------------
def test_bible_split_is_by_book_and_fixed():
    c = data.bible_pairs("it-en")
    assert {p.ref.split(".")[0] for p in c.test} == {"8", "43"}
    assert {p.ref.split(".")[0] for p in c.valid} == {"57"}
    assert not {p.ref for p in c.train} & {p.ref for p in c.test + c.valid}
    assert len(c.test) == 964 and len(c.valid) == 25 and len(c.train) > 29000
    john_3_16 = next(p for p in c.test if p.ref == "43.3.16")
    assert john_3_16.tgt.startswith("For God so loved the world")
    assert "`" not in "".join(p.tgt for p in c.test)          # WEB backticks became apostrophes


def test_unknown_pair_is_one_message():
    with pytest.raises(ValueError, match="unknown language pair"):
        data.bible_pairs("xx-en")


def test_tsv_reads_pairs_in_both_directions(tmp_path):
    f = tmp_path / "pairs.tsv"
    f.write_text("".join(f"{en}\t{it}\tCC-BY attribution #{i}\n" for i, (it, en) in enumerate(PAIRS * 3)),
                 encoding="utf-8")
    to_en = data.read_tsv(f, "to-en")
    from_en = data.read_tsv(f, "from-en")
    assert sum(len(to_en.split(s)) for s in ("train", "valid", "test")) >= 36
    assert (to_en.train[0].src, to_en.train[0].tgt) in [(it, en) for it, en in PAIRS]
    assert (from_en.train[0].src, from_en.train[0].tgt) in [(en, it) for it, en in PAIRS]


def test_tsv_errors_name_line_numbers(tmp_path):
    f = tmp_path / "bad.tsv"
    lines = [f"{en}\t{it}" for it, en in PAIRS] + ["no tab on this line", "\tempty english"]
    f.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValueError, match=r"line\(s\) 13, 14"):
        data.read_tsv(f)
    f.write_bytes("caf\xe9\tcafe\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        data.read_tsv(f)
    f.write_bytes(b"\x00\x01binary\x00")
    with pytest.raises(ValueError, match="binary"):
        data.read_tsv(f)
    with pytest.raises(FileNotFoundError):
        data.read_tsv(tmp_path / "missing.tsv")


# -- BPE ------------------------------------------------------------------------------------------
def test_bpe_round_trips_and_merges_pieces_into_words():
    texts = ["Il gatto si è seduto sul tappetino.", "dell’uomo, e il nome"] * 20
    tok = bpe.train_bpe(texts, 60)                   # tiny vocabulary: words split into pieces
    ids = bpe.encode(tok, texts[0])
    assert bpe.decode(tok, ids) == texts[0]
    pieces = bpe.pieces(tok, ids)
    assert len(pieces) > 7
    words, index = bpe.words_of(pieces)
    assert words == ["Il", "gatto", "si", "è", "seduto", "sul", "tappetino", "."]
    assert len(index) == len(pieces) and index == sorted(index)
    assert bpe.words_of(bpe.pieces(tok, bpe.encode(tok, "dell’uomo, e")))[0] == ["dell", "’", "uomo", ",", "e"]


def test_split_input_truncates_with_a_notice():
    chunks, notice = split_input("Uno. Due! " + "parola " * 1000)
    assert chunks[:2] == ["Uno.", "Due!"]
    assert sum(len(c.split()) for c in chunks) == MAX_WORDS and "300" in notice
    assert max(len(c.split()) for c in chunks) <= 60
    assert split_input("   \n ") == ([], "")


# -- training and the Translator ------------------------------------------------------------------
def test_training_yields_progress_checkpoints_and_saves_a_loadable_model(tiny):
    out, events, card = tiny
    steps = [e for e in events if isinstance(e, Progress) and e.step > 0]
    assert steps and steps[-1].step == steps[-1].total
    assert all(e.loss is not None and math.isfinite(e.loss) for e in steps)
    assert any(isinstance(e.checkpoint, Translator) for e in steps)
    assert "val_bleu" in [e for e in steps if e.metrics][-1].metrics     # (the last one says "saving")
    assert (out / "tiny.safetensors").exists() and card.bytes > 0
    assert card.train_command == "" and json.loads(card.extra["src_tokenizer"])["model"]["type"] == "BPE"
    tensors, loaded_card = cards.load_model(out / "tiny")
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    assert "out.weight" not in tensors                        # tied to the target embedding
    tr = Translator.from_tensors(tensors, loaded_card)
    assert torch.equal(tr.model.out.weight, tr.model.embed.weight)


@pytest.mark.parametrize("beam", [1, 3])
def test_translation_contract(tiny, beam):
    out, _, card = tiny
    tr = Translator.from_tensors(*cards.load_model(out / "tiny"))
    r = tr.translate("Il gatto si è seduto sul tappetino.", beam=beam, n_best=beam)
    assert set(r) >= {"translation", "source_tokens", "target_tokens", "alignment", "nbest", "ms"}
    assert r["source_tokens"][:2] == ["Il", "gatto"] and r["source_tokens"][-1] == "."
    A = r["alignment"]
    assert len(A) == len(r["target_tokens"]) and all(len(row) == len(r["source_tokens"]) for row in A)
    assert all(abs(sum(row) - 1) < 1e-3 for row in A)
    assert 1 <= len(r["nbest"]) <= beam
    scores = [h["score"] for h in r["nbest"]]
    assert scores == sorted(scores, reverse=True)
    assert r["nbest"][0]["text"] == r["translation"]


def test_several_sentences_get_an_nbest_list_each(tiny):
    out, _, _ = tiny
    tr = Translator.from_tensors(*cards.load_model(out / "tiny"))
    r = tr.translate("Il gatto dorme. Il cane mangia.", beam=3, n_best=3)
    assert [s["source"] for s in r["sentences"]] == ["Il gatto dorme.", "Il cane mangia."]
    for sentence in r["sentences"]:
        scores = [h["score"] for h in sentence["nbest"]]
        assert 1 <= len(scores) <= 3 and scores == sorted(scores, reverse=True)
    assert r["translation"] == " ".join(s["nbest"][0]["text"] for s in r["sentences"] if s["nbest"][0]["text"])
    assert "sentences" not in tr.translate("Il gatto dorme.", beam=3, n_best=3)


def test_bad_input_never_crashes(tiny):
    out, _, _ = tiny
    tr = Translator.from_tensors(*cards.load_model(out / "tiny"))
    assert tr.translate("")["translation"] == ""
    assert tr.translate("   ")["alignment"] == []
    for text in ["🙂🙂 ciao 🎉", "Привет мир", "\x07 gatto", "a" * 3000]:
        r = tr.translate(text, beam=2)
        assert isinstance(r["translation"], str)
    for text, message in [("\x00\x07 gatto", "binary data"), ("caf\udce9", "not valid UTF-8")]:
        with pytest.raises(ValueError, match=message):    # one clear message, not a translation
            tr.translate(text)
    r = tr.translate("Il gatto dorme. " * 400, beam=1)
    assert "notice" in r and len(r["source_tokens"]) <= 3 * MAX_WORDS


def test_cancelling_training_saves_nothing(tmp_path):
    cfg = TrainConfig(name="cancelled", limit=100, epochs=1, batch_size=16, hidden=16, emb=16,
                      src_vocab=200, tgt_vocab=200, test_bleu=False)
    out = tmp_path / "out"
    gen = train(cfg, out)
    for event in gen:
        if event.step >= 2:
            break
    gen.close()
    assert not out.exists() or not list(out.iterdir())


def test_corrupt_weights_are_one_readable_error(tiny, tmp_path):
    out, _, _ = tiny
    for suffix in (".safetensors", ".json"):
        shutil.copy(out / f"tiny{suffix}", tmp_path / f"tiny{suffix}")
    blob = bytearray((tmp_path / "tiny.safetensors").read_bytes())
    blob[-10:] = b"\xff" * 10
    (tmp_path / "tiny.safetensors").write_bytes(bytes(blob))
    with pytest.raises(cards.ModelLoadError, match="sha256"):
        cards.load_model(tmp_path / "tiny")


def test_learns_a_toy_language(tmp_path):
    """Attention seq2seq memorizes 12 toy pairs: proof the model, loss and decoder fit together."""
    torch.manual_seed(0)
    from engine.translate.model import Seq2Seq, Seq2SeqConfig
    src_tok = bpe.train_bpe([s for s, _ in PAIRS], 40)
    tgt_tok = bpe.train_bpe([t for _, t in PAIRS], 40)
    model = Seq2Seq(Seq2SeqConfig(src_vocab=src_tok.get_vocab_size(), tgt_vocab=tgt_tok.get_vocab_size(),
                                  emb=32, hidden=48, attention="bahdanau", dropout=0.0))
    from engine.translate.train import collate
    enc = [(bpe.encode(src_tok, s), bpe.encode(tgt_tok, t)) for s, t in PAIRS]
    batch = collate(enc, list(range(len(enc))), "cpu")
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(120):
        _, loss, _ = model(*batch)
        opt.zero_grad(), loss.backward(), opt.step()
    tr = Translator(model, src_tok, tgt_tok)
    got = tr.translate_batch([s for s, _ in PAIRS], beam=3)
    assert sum(g == t for g, (_, t) in zip(got, PAIRS)) >= 11


# -- CLI --------------------------------------------------------------------------------------------
def test_cli_predict_json_and_errors(tiny, capsys):
    out, _, _ = tiny
    install(out, "tiny")
    assert cli.main(["predict", "translate", "--model", "tiny", "--beam", "2", "--json", "Il re parla.", "Ciao"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 2 and lines[0]["source_tokens"][:2] == ["Il", "re"]
    assert cli.main(["predict", "translate", "--model", "tiny", "--beam", "11", "--json", "x"]) == 2   # a usage error
    assert "between 1 and 10" in capsys.readouterr().err
    assert cli.main(["predict", "translate", "--model", "nope", "--json", "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no translate model named 'nope'" in err


def test_cli_eval_json(tiny, capsys):
    out, _, _ = tiny
    install(out, "tiny")
    assert cli.main(["eval", "translate", "--model", "tiny", "--limit", "8", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["split"] == "test" and r["n"] == 8
    assert 0.0 <= r["bleu_beam1"] <= 100.0 and 0.0 <= r["bleu_beam5"] <= 100.0
