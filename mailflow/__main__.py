"""``python -m mailflow``: the same command line as the ``mailflow`` console script."""

from mailflow.cli import main

raise SystemExit(main())
