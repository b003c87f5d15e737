"""Errors a person can act on. Each carries a BSD sysexits status for the CLI."""
from __future__ import annotations

EX_USAGE = 64        # bad command line or arguments
EX_DATAERR = 65      # bad input file (ELF, source that does not compile or link)
EX_UNAVAILABLE = 69  # a required tool (cross-compiler) is missing
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
