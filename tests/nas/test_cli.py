"""`mcusim search`, `mcusim supernet`, `mcusim evolve-space`: the spaces listed, bad command lines
and files refused with one line and exit 64 or 65."""
import json

import pytest

from mcusim.cli import main
from mcusim.models import zoo


def test_list_spaces(capsys):
    assert main(["search", "--list-spaces"]) == 0
    assert capsys.readouterr().out.startswith("mcuformer")


@pytest.mark.parametrize("argv, message", [
    (["search", "--space", "mcuformer", "-o", "x"], "needs --space, --board and -o"),
    (["search", "--space", "nope", "--board", "stm32f746", "-o", "x"], "unknown search space 'nope'"),
    (["search", "--space", "mcuformer", "--board", "esp32", "-o", "x"], "unknown board 'esp32'"),
    (["search", "--space", "mcuformer", "--board", "stm32f746", "--supernet", "missing.npz", "-o", "x"],
     "no supernet for the mcuformer space"),
    (["search", "--space", "mcuformer", "--board", "stm32f746", "--supernet", str(zoo.get("vit-digits").checkpoint),
      "-o", "x"], "is not a supernet of the mcuformer space"),
    (["supernet", "--space", "mcuformer", "--patch", "5", "--dataset", "digits", "-o", "x.npz"],
     "patch 5 does not divide the image size 28"),
])
def test_bad_requests_are_one_line_usage_errors(argv, message, capsys):
    assert main(argv) == 64
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_bad_number_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["search", "--space", "mcuformer", "--board", "stm32f746", "--budget", "0", "-o", "x"])
    assert e.value.code == 64 and "positive integer" in capsys.readouterr().err


def test_a_supernet_variant_belongs_to_its_space(capsys):
    assert main(["supernet", "--space", "mcuformer", "--variant", "small", "--dataset", "digits", "-o", "x.npz"]) == 64
    assert "the tinyformer space has variants small, normal, large" in capsys.readouterr().err


@pytest.mark.parametrize("command, old, new, dest, default", [
    (["supernet", "--space", "mcuformer", "--dataset", "digits", "-o", "x.npz"], "--validation", "--val-images",
     "val_images", None),
    (["search", "--space", "mcuformer"], "--int8-images", "--int8-val-images", "int8_val_images", 500),
    (["evolve-space", "--space", "mcuformer", "--dataset", "digits", "--board", "stm32f746", "-o", "d"], "--samples",
     "--candidates", "candidates", 100),
    (["supernas", "--space", "tinyformer", "--dataset", "digits", "--board", "stm32f746", "-o", "d"], "--samples",
     "--candidates", "candidates", 100),
])
def test_old_spellings_are_hidden_aliases(command, old, new, dest, default, capsys):
    from mcusim.cli import parser

    top = parser()
    assert getattr(top.parse_args(command), dest) == default
    assert getattr(top.parse_args([*command, new, "7"]), dest) == 7
    assert getattr(top.parse_args([*command, old, "7"]), dest) == 7
    assert capsys.readouterr().err == f"mcusim: {old} is deprecated; use {new}\n"
    with pytest.raises(SystemExit):
        top.parse_args([command[0], "--help"])
    help_text = capsys.readouterr().out
    assert new in help_text and f"{old} " not in help_text


def test_list_spaces_json(capsys):
    from mcusim.nas.spaces import SPACES

    assert main(["search", "--list-spaces", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == list(SPACES)
