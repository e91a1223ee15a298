"""``python -m provider``: see :mod:`provider.cli`."""

from provider.cli import main

raise SystemExit(main())
