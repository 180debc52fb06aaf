"""``python -m preemptsim`` and the ``preemptsim`` command (pyproject's script).

The command line is imported inside ``main``, so that a Ctrl-C during its start-up imports
ends as one line and exit code 130, as one during a command does (DESIGN.md §4).
"""

import sys


def main() -> int:
    try:
        from preemptsim.cli import main as command_line
    except KeyboardInterrupt:
        print("preemptsim: interrupted", file=sys.stderr)
        return 130
    return command_line()


if __name__ == "__main__":
    raise SystemExit(main())
