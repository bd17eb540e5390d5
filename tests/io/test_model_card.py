"""The model card: config.json's keys as they have always been, kept unknown keys, one check."""

import json

import pytest
import torch

from seqmodels.api import load
from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig, SequenceClassifier
from seqmodels.models.pretrained import load_pretrained, save_pretrained

MODEL = ModelConfig(d_model=16, n_layer=1, d_state=4, vocab_size=6).to_dict()

# config.json as task=dna_species wrote it before the card existed
DNA_SPECIES_CONFIG = {
    "format": "seqmodels-model",
    "format_version": 1,
    "kind": "classifier",
    "task": "dna_species",
    "model": MODEL,
    "class_names": ["a", "b"],
    "pooling": "mean",
    "rc_average": False,
    "alphabet": "dna",
    "pad_id": 0,
    "seq_len": 1024,
}


def write_model(folder, config: dict):
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig.from_dict(MODEL), 2)
    save_pretrained(
        folder, model, ModelCard(kind="classifier", model=MODEL, class_names=["a", "b"])
    )
    (folder / "config.json").write_text(json.dumps(config))  # replaced by the file of an old run
    return model


def test_a_config_json_in_the_first_format_loads(tmp_path):
    model = write_model(tmp_path / "model", DNA_SPECIES_CONFIG)
    loaded, card = load_pretrained(tmp_path / "model")
    assert (card.kind, card.alphabet, card.task, card.seq_len) == (
        "classifier",
        "dna",
        "dna_species",
        1024,
    )
    assert card.class_names == ["a", "b"] and card.pad_id == 0
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    # saved again, the file has the same keys and values
    save_pretrained(tmp_path / "again", loaded, card)
    assert json.loads((tmp_path / "again" / "config.json").read_text()) == DNA_SPECIES_CONFIG


def test_the_python_api_keeps_info_as_the_dict(tmp_path):
    write_model(tmp_path / "model", DNA_SPECIES_CONFIG)
    pretrained = load(tmp_path / "model")
    assert pretrained.card.task == "dna_species"
    expected = {k: v for k, v in DNA_SPECIES_CONFIG.items() if not k.startswith("format")}
    assert pretrained.info == expected and pretrained.class_names == ["a", "b"]


def test_keys_of_a_newer_version_are_kept():
    card = ModelCard.from_dict({**DNA_SPECIES_CONFIG, "tokenizer_note": "kept"})
    assert card.extra == {"tokenizer_note": "kept"}
    assert card.to_dict()["tokenizer_note"] == "kept"


def test_a_newer_format_version_is_refused_in_one_line(tmp_path):
    write_model(tmp_path / "model", {**DNA_SPECIES_CONFIG, "format_version": 2})
    with pytest.raises(UserError, match="newer seqmodels .format_version 2") as error:
        load_pretrained(tmp_path / "model")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"kind": "segmenter"}, "unknown model kind 'segmenter'"),
        ({"kind": "regressor"}, "a regressor without target_names"),
        ({"kind": "multilabel"}, "a multilabel without target_names"),
        (
            {"kind": "regressor", "target_names": ["y", "z"], "target_mean": [0.5]},
            "needs target_mean, one number per target",
        ),
        ({"alphabet": "protein"}, "unknown alphabet 'protein'"),
        ({"class_names": []}, "a classifier without class_names"),
        ({"model": "big"}, "'model' must be"),
    ],
)
def test_bad_cards_are_refused(change, expected):
    with pytest.raises(UserError, match=expected):
        ModelCard.from_dict({**DNA_SPECIES_CONFIG, **change}, "x/config.json")


def test_require_names_what_the_model_is_and_what_was_needed():
    card = ModelCard.from_dict(DNA_SPECIES_CONFIG, "runs/x/config.json")
    card.require(kind="classifier", alphabet="dna", what="predict")
    with pytest.raises(UserError) as error:
        card.require(kind="lm", alphabet="mulaw", what="generate")
    message = str(error.value)
    assert message == (
        "runs/x/config.json: not an audio language model but a DNA classifier "
        "(task=dna_species): generate needs one from `seqmodels fit task=audio_lm`"
    )
    with pytest.raises(UserError, match="not an audio model but a DNA classifier"):
        card.require(alphabet="mulaw", what="fine-tuning this run")


def test_a_regressor_card_keeps_its_targets_and_their_units_through_json():
    values = {
        **DNA_SPECIES_CONFIG,
        "kind": "regressor",
        "target_names": ["gc", "a"],
        "target_mean": [0.5, 0.25],
        "target_std": [0.1, 2],
    }
    del values["class_names"]
    card = ModelCard.from_dict(values)
    again = ModelCard.from_json(card.to_json(), "config.json")
    assert again == card and again.target_std == [0.1, 2.0]
    assert again.describe() == "a DNA regression model (task=dna_species)"
    with pytest.raises(UserError, match="not a DNA classifier but a DNA regression model"):
        again.require(kind="classifier", alphabet="dna", what="predict")
