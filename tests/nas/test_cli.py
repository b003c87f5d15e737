"""`mcusim search`, `mcusim supernet`, `mcusim evolve-space`: the spaces listed, bad command lines
and files refused with one line and exit 64 or 65."""
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
