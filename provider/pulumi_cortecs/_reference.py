"""The README's reference tables (inputs, outputs, configuration), rendered from the schema.

``scripts/sync-readme.py`` writes them between the README's ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->`` markers; a test fails when the README and the schema disagree.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pulumi_cortecs._schema import CONFIG, NAMESPACE, OUTPUTS, USER_INPUTS, Property


def tables() -> dict[str, str]:
    """Each generated table by name, as Markdown."""
    return {"inputs": _inputs(), "outputs": _outputs(), "config": _config()}


def with_tables(readme: str) -> str:
    """``readme`` with every generated section replaced by its current table."""
    for name, table in tables().items():
        begin, end = f"<!-- generated: {name} -->\n", f"<!-- end: {name} -->"
        found = re.search(re.escape(begin) + ".*?" + re.escape(end), readme, re.S)
        if found is None:
            raise ValueError(f"the README has no section marked {begin.strip()}")
        readme = readme[: found.start()] + begin + table + end + readme[found.end() :]
    return readme


def _inputs() -> str:
    rows = [
        f"| `{p.name}` | {_default(p)} | {p.change.value if p.change else ''} | {p.description} |"
        for p in USER_INPUTS
    ]
    return _table(["input", "default", "on change", "what it is"], rows)


def _outputs() -> str:
    rows = [f"| `{p.name}` | {_secret(p)} | {p.description} |" for p in OUTPUTS]
    return _table(["output", "secret", "what it is"], rows)


def _secret(prop: Property) -> str:
    # Any Output may turn out to be secret (see ManagedInstance).
    return f"when `{prop.carries}` holds an `Output`" if prop.carries else "no"


def _config() -> str:
    rows = [
        f"| `{NAMESPACE}:{key.key}`{' (secret)' if key.secret else ''} | "
        f"`{key.environment}` | {key.description} |"
        for key in CONFIG
    ]
    return _table(["stack config", "environment fallback", "what it is"], rows)


def _default(prop: Property) -> str:
    if prop.required:
        return "required"
    if prop.default_doc is not None:
        return prop.default_doc
    value: Any = prop.default if prop.default is not None else prop.api_default
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{json.dumps(value)}`"


def _table(header: list[str], rows: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *rows]
    return "\n".join(lines) + "\n"
