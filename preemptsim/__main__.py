"""``python -m preemptsim`` is the ``preemptsim`` command."""

from preemptsim.cli import main

raise SystemExit(main())
