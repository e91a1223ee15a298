"""The CLI as messages name it: every message that suggests a command spells it this way.

The provider's errors, the journal's and the CLI's own hints all point at the same installed
command (``[project.scripts]`` in pyproject.toml), so a user can paste what they read.
"""

from __future__ import annotations

CLI_NAME = "cortecs-instances"


def command(arguments: str) -> str:
    """A command line for a message to suggest, in backquotes as Markdown shows code:
    ``command("orphans")`` is the text `` `cortecs-instances orphans` ``."""
    return f"`{CLI_NAME} {arguments}`"
