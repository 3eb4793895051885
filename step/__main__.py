"""``python -m step`` is the ``step`` command."""

from step.cli import main

raise SystemExit(main())
