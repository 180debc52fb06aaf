"""The error classes the command line turns into exit codes, importable at no cost.

``InputError`` is bad usage or bad input (exit 2, one line): scenario, calibration and
usage errors derive from it, so the command line catches them without importing the
modules that raise them (start-up, DESIGN.md §4).
"""


class InputError(ValueError):
    """Bad usage or input; the message is one line that names the key or file."""


class UsageError(InputError):
    """A command-line option or argument that cannot be used."""


def printable(text: str) -> str:
    """``text`` with control characters (terminal escapes, newlines) written as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def quoted(value: object, width: int = 60) -> str:
    """``repr(value)`` for a one-line message, cut to ``width`` characters with "…"."""
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 1]}…"
