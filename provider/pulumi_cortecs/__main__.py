"""``python -m pulumi_cortecs``: see :mod:`pulumi_cortecs.cli`."""

from pulumi_cortecs.cli._main import main

raise SystemExit(main())
