"""Command options from the command function's signature: names, types, bounds, run_root."""

from pathlib import Path
from typing import Literal

import pytest

from seqmodels.cli import main
from seqmodels.commands.export import export_command
from seqmodels.commands.generate import generate_command
from seqmodels.commands.options import NonNegativeFloat, PositiveInt, options, parse_options
from seqmodels.commands.predict_audio import predict_command as predict_audio
from seqmodels.commands.predict_dna import predict_command as predict_dna
from seqmodels.errors import UserError

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"


def command(
    files: list[str],
    n: PositiveInt = 4,
    rate: NonNegativeFloat = 1.0,
    window: PositiveInt | Literal["record"] | None = None,
    flag: bool = False,
    name: str = "x",
    out: Path = Path("out"),
) -> None:
    """A command with one option of each kind."""


def test_options_are_the_parameters_with_a_default():
    assert list(options(command)) == ["n", "rate", "window", "flag", "name", "out"]


def test_values_are_read_as_their_types():
    pairs = ["n=3", "rate=0.5", "window=record", "flag=true", "name=7", "out=a/b"]
    values = parse_options("cmd", command, pairs)
    assert values == {
        "n": 3,
        "rate": 0.5,
        "window": "record",
        "flag": True,
        "name": "7",
        "out": Path("a/b"),
    }
    assert parse_options("cmd", command, ["window=12"]) == {"window": 12}


@pytest.mark.parametrize(
    "pair, expected",
    [
        ("n=0", "n='0': expected a whole number >= 1"),
        ("n=2.5", "n='2.5': expected a whole number >= 1"),
        ("rate=fast", "rate='fast': expected a number >= 0"),
        ("rate=nan", "rate='nan': expected a number >= 0"),
        ("window=recrod", "window='recrod': expected a whole number >= 1, or record"),
        ("flag=maybe", "flag='maybe': expected true or false"),
        ("colour=red", "unknown cmd option 'colour'; valid options: n, rate, window, flag"),
    ],
)
def test_a_wrong_value_names_the_option_and_the_type(pair, expected):
    with pytest.raises(UserError) as error:
        parse_options("cmd", command, [pair])
    assert expected in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("function", [predict_dna, predict_audio, generate_command, export_command])
def test_every_command_takes_run_root(function):
    assert options(function)["run_root"] is Path


@pytest.mark.parametrize(
    "argv, task",
    [
        (["predict", str(TINY)], "dna_species"),
        (["predict", "clip.wav"], "audio_classify"),
        (["generate"], "audio_lm"),
        (["export", "task=dna_species", "out=exported"], "dna_species"),
    ],
)
def test_commands_look_for_the_latest_run_under_run_root(tmp_path, monkeypatch, capsys, argv, task):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, f"run_root={tmp_path / 'elsewhere'}"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'elsewhere' / task / 'latest'}" in err, err
