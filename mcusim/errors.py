"""Errors a person can act on. Each carries a BSD sysexits status for the CLI."""
from __future__ import annotations

EX_USAGE = 64        # bad command line or arguments
EX_DATAERR = 65      # bad input file (ELF, source that does not compile or link)
EX_UNAVAILABLE = 69  # a required tool (cross-compiler) or optional dependency (an extra) is missing
EX_SOFTWARE = 70     # the firmware faulted


class McusimError(Exception):
    """Base class: the message is one line that says what, where and what to do."""

    exit_code = EX_SOFTWARE


class UsageError(McusimError):
    exit_code = EX_USAGE


class ElfError(McusimError):
    """A file that is not a loadable ARM ELF for the chosen board."""

    exit_code = EX_DATAERR


class BuildError(McusimError):
    """Compilation or linking failed; the message carries the compiler's first error."""

    exit_code = EX_DATAERR


class ToolchainMissing(McusimError):
    exit_code = EX_UNAVAILABLE


# The top-level module of each optional dependency -> the extra of pyproject.toml that installs it.
EXTRAS = {"torch": "models", "sklearn": "models", "tqdm": "models", "matplotlib": "models", "threadpoolctl": "models",
          "tflite_micro": "tflite", "flatbuffers": "tflite", "ray": "cluster", "hypothesis": "testing"}


class MissingExtra(McusimError):
    """An optional dependency is not installed: `module` (a key of EXTRAS) and `extra`, the extra
    that installs it. The CLI names the command that needed it."""

    exit_code = EX_UNAVAILABLE

    def __init__(self, module: str):
        self.module, self.extra = module, EXTRAS[module]
        super().__init__(f"{module} is not installed; it comes with the '{self.extra}' extra: "
                         f"pip install 'mcusim[{self.extra}]'")


def missing_extra(error: ModuleNotFoundError) -> MissingExtra | None:
    """The MissingExtra of an import that failed for an optional dependency; None for any other module."""
    top = (error.name or "").partition(".")[0]
    return MissingExtra(top) if top in EXTRAS else None
