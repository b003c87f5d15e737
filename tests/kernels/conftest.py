import pytest

from mcusim.boards import get_board
from mcusim.models.kernels import EmulatedKernels, HostKernels


@pytest.fixture(scope="session", params=[False, True], ids=["plain", "dsp"])
def host_kernels(request):
    """The kernels built for this machine, plain C path and DSP path (portable DSP ops)."""
    return HostKernels(dsp=request.param)


@pytest.fixture(scope="session", params=[("stm32f427", False), ("stm32f427", True), ("stm32f746", True)],
                ids=["m4-plain", "m4-dsp", "m7-dsp"])
def emulated_kernels(request, tmp_path_factory):
    """The kernels built for a board and run in the emulator (real SMLAD/SXTB16 on the DSP path)."""
    board, dsp = request.param
    return EmulatedKernels(get_board(board), dsp, tmp_path_factory.mktemp("kernels"))
