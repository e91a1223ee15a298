"""Where the provider finds its credentials: stack config first, then the environment.

Stack config arrives in ``configure()`` with namespaced keys (``cortecs:clientSecret``); inside
the provider process ``pulumi.Config()`` is empty, so nothing else can read it. The keys and
their environment fallbacks are declared in :mod:`pulumi_cortecs._schema`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pulumi_cortecs._schema import (
    API_BASE_URL,
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    JOURNAL_DIR,
    JOURNAL_URL,
    NAMESPACE,
    ConfigKey,
)


class ConfigSource(Protocol):
    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class ProviderSettings:
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    api_base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    journal_dir: str | None = None
    journal_url: str | None = None

    @classmethod
    def from_config(
        cls, config: ConfigSource, environ: Mapping[str, str] = os.environ
    ) -> ProviderSettings:
        def value(key: ConfigKey) -> str | None:
            return key.value(config.get(f"{NAMESPACE}:{key.key}"), environ)

        return cls(
            client_id=value(CLIENT_ID),
            client_secret=value(CLIENT_SECRET),
            api_base_url=value(API_BASE_URL),
            api_key=value(API_KEY),
            journal_dir=value(JOURNAL_DIR),
            journal_url=value(JOURNAL_URL),
        )
