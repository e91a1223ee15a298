"""Where the provider finds its credentials: stack config first, then the environment.

Stack config arrives in ``configure()`` with namespaced keys (``cortecs:clientSecret``); inside
the provider process ``pulumi.Config()`` is empty, so nothing else can read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

NAMESPACE = "cortecs"
CONFIG_KEYS = {
    "client_id": ("clientId", "CORTECS_CLIENT_ID"),
    "client_secret": ("clientSecret", "CORTECS_CLIENT_SECRET"),
    "api_base_url": ("apiBaseUrl", "CORTECS_API_BASE_URL"),
    "api_key": ("apiKey", "OPENAI_API_KEY"),
}


class ConfigSource(Protocol):
    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class ProviderSettings:
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    api_base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(
        cls, config: ConfigSource, environ: Mapping[str, str] = os.environ
    ) -> ProviderSettings:
        values: dict[str, str | None] = {}
        for attribute, (key, variable) in CONFIG_KEYS.items():
            value = config.get(f"{NAMESPACE}:{key}") or environ.get(variable)
            values[attribute] = str(value) if value else None
        return cls(**values)
