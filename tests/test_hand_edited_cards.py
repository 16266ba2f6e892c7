"""A hand-edited card whose config no longer fits its weights: one line naming the model at
load time (it was "error: 6" or an IndexError at the first prediction)."""
import json
import shutil

import pytest

from engine import cards, paths


def copy_with(task: str, name: str, edit) -> None:
    shipped = paths.assets() / "models" / task / name
    if not shipped.with_suffix(".safetensors").is_file():
        pytest.skip(f"the shipped {task} model {name} is missing")
    mine = paths.user_models() / task
    mine.mkdir(parents=True, exist_ok=True)
    card = json.loads(shipped.with_suffix(".json").read_text())
    edit(card)
    (mine / "edited.json").write_text(json.dumps(card))
    shutil.copy(shipped.with_suffix(".safetensors"), mine / "edited.safetensors")


@pytest.mark.parametrize("name, edit, says", [
    ("kn", lambda c: c["config"].update(order=9), "KeyError: 'ngrams6'"),
    ("lstm", lambda c: c["extra"].update(itos=c["extra"]["itos"][:10]), "the card lists 10 words"),
])
def test_typeahead_cards_that_do_not_fit_their_weights(seqlab_home, name, edit, says):
    from engine.typeahead import models
    copy_with("typeahead", name, edit)
    with pytest.raises(cards.ModelLoadError) as caught:
        models.load("edited")
    assert "edited" in str(caught.value) and says in str(caught.value)


def test_a_translate_card_with_a_config_of_the_wrong_type(seqlab_home):
    from engine.translate.translator import Translator
    shipped = sorted((paths.assets() / "models" / "translate").glob("*.json"))
    if not shipped:
        pytest.skip("no shipped translation model")
    copy_with("translate", shipped[0].stem, lambda c: c["config"].update(hidden="192"))
    with pytest.raises(cards.ModelLoadError, match="'edited' is incomplete .*TypeError"):
        Translator.load("edited")
