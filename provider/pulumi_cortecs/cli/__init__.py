"""``python -m pulumi_cortecs`` and ``cortecs-instances``: the catalog, and your instances (list,
follow as they boot, stop, delete).

One private module per job: ``_commands`` declares the commands (the only place a new one
goes), ``_parser`` builds the command line from them, ``_queries`` and ``_actions`` do their
work, ``_rows`` are the typed rows (and their JSON), ``_views`` and ``_tables`` the tables,
``_errors`` the exit codes and hints, ``_logs`` the retry and request lines, ``_context``
what a command works with, and ``_main`` runs it all.
"""

from pulumi_cortecs.cli._main import main

__all__ = ["main"]
