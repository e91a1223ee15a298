"""``python -m pulumi_cortecs`` and ``cortecs-instances``: the catalog and your instances."""

from pulumi_cortecs.cli._main import main

__all__ = ["main"]
