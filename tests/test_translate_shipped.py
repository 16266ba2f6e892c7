"""The shipped translation models: present, loadable, small, reproducible from their cards, and
(slow) as good on the held-out books as their cards say."""
import json

import pytest

from engine import paths
from engine.translate import data
from engine.translate.train import bleu
from engine.translate.translator import Translator

SHIPPED = paths.assets() / "models" / "translate"


def shipped_names():
    return sorted(p.stem for p in SHIPPED.glob("*.json"))


def test_default_model_ships_within_the_size_budget():
    names = shipped_names()
    assert "it-en" in names
    total = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert total <= 12 * 2**20, f"assets/models/translate is {total / 2**20:.1f} MB"


@pytest.mark.parametrize("name", shipped_names())
def test_card_names_its_command_and_metrics(name):
    card = json.loads((SHIPPED / f"{name}.json").read_text())
    assert card["train_command"].startswith("seqlab train translate ")
    assert card["train_command"].endswith("--out assets/models/translate")
    for key in ("bleu_beam1", "bleu_beam5", "test_n"):
        assert key in card["metrics"]
    assert card["data"]["split"].startswith("test = books 8 (Ruth) + 43 (John)")


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_model_translates(name):
    tr = Translator.load(name)
    r = tr.translate("E Dio disse: Sia la luce; e la luce fu.", beam=5)
    assert r["translation"] and len(r["alignment"]) == len(r["target_tokens"])


def test_default_model_knows_the_commonest_verse():
    # "And the LORD spoke to Moses, saying" opens ~70 training verses: the weak shipped model
    # (BLEU ~5) must at least have learned it, word for word.
    tr = Translator.load("it-en")
    assert tr.translate("E il Signore parlò a Mosè, dicendo:", beam=5)["translation"] == \
        "Yahweh spoke to Moses, saying,"


@pytest.mark.slow
@pytest.mark.parametrize("name", shipped_names())
def test_held_out_bleu_matches_the_card(name):
    tr = Translator.load(name)
    pairs = data.bible_pairs("it-en").test
    got = {}
    for beam in (1, 5):
        hyps = []
        for i in range(0, len(pairs), 32):
            hyps += tr.translate_batch([p.src for p in pairs[i:i + 32]], beam=beam)
        got[beam] = bleu(hyps, [p.tgt for p in pairs])
    assert got[1] == pytest.approx(tr.card.metrics["bleu_beam1"], abs=0.2)
    assert got[5] == pytest.approx(tr.card.metrics["bleu_beam5"], abs=0.2)


def test_eval_takes_the_beam_it_is_given(capsys):
    """--beam was ignored: eval always measured beams 1 and 5."""
    from engine.cli import main
    assert main(["eval", "translate", "--beam", "3", "--limit", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "bleu_beam3" in out and "bleu_beam1" not in out and out["n"] == 3
