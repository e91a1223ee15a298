"""A per-process memo of the public catalog, and what it says about an instance's arguments.

A preview checks every resource; fetching each model's detail once per process (not once per
resource) keeps a stack of twenty instances over two models at three catalog calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from pulumi_cortecs._exceptions import NotFoundError, UnknownModelError
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import HardwareType, ModelPreview, similar_models

T = TypeVar("T")


class Catalog:
    """Thread-safe, fetch-once views of models and hardware types."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._values: dict[str, object] = {}

    def _memo(self, key: str, fetch: Callable[[], T]) -> T:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One fetch per key even when many threads ask at once; other keys are not held up.
        with key_lock:
            if key not in self._values:
                self._values[key] = fetch()
            return self._values[key]  # type: ignore[return-value]

    def model(self, model_id: str, named: str | None = None) -> ModelPreview:
        """The model's detail; :class:`UnknownModelError` with close names when it is unknown,
        in the form of ``named`` (how the user wrote it; default: ``model_id``)."""
        found = self._memo(f"model:{model_id}", lambda: self._fetch_model(model_id))
        if found is None:
            named = named or model_id
            raise UnknownModelError(named, similar_models(named, self.models()))
        return found

    def _fetch_model(self, model_id: str) -> ModelPreview | None:
        try:
            return self._client.get_model(model_id)
        except NotFoundError:
            return None

    def models(self) -> list[ModelPreview]:
        return self._memo("models", self._client.list_models)

    def hardware_types(self) -> dict[str, HardwareType]:
        return self._memo(
            "hardware",
            lambda: {hw.hardware_type_id: hw for hw in self._client.list_hardware_types()},
        )

    def hardware(self, hardware_type_id: str) -> HardwareType | None:
        return self.hardware_types().get(hardware_type_id)
