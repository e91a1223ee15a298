"""A small on-disk record of instances this provider started but has not yet handed to Pulumi.

The engine records nothing for a create that did not finish, and it cannot cancel one: if the
provider process dies while an instance boots, only this file remembers that the instance is
ours. The next create with the same arguments adopts it instead of starting a second one.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

JOURNAL_ENV = "CORTECS_JOURNAL_PATH"
DEFAULT_JOURNAL_PATH = Path(".cortecs") / "unfinished-creates.json"


class StartJournal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(os.environ.get(JOURNAL_ENV) or DEFAULT_JOURNAL_PATH)
        self._lock = threading.Lock()

    def entries(self) -> dict[str, dict[str, Any]]:
        """Instance id → the arguments it was started with."""
        with self._lock:
            return self._read()

    def record(self, instance_id: str, args: dict[str, Any]) -> None:
        with self._lock:
            entries = self._read()
            entries[instance_id] = args
            self._write(entries)

    def forget(self, instance_id: str) -> None:
        with self._lock:
            entries = self._read()
            if entries.pop(instance_id, None) is not None:
                self._write(entries)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename so a process killed mid-write leaves the previous journal intact.
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(entries, indent=2, sort_keys=True))
        partial.replace(self.path)
