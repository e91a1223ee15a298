"""The API's constants as the fake knows them: paths, statuses, start defaults and limits.

The fake deliberately does not import them from the client (``pulumi_cortecs.api``): it is a
second, independent reading of the API contract, so a client constant that is wrong makes a
test fail instead of being agreed with.
"""

from __future__ import annotations

API_PREFIX = "/api/v1"
"""Where the API is served; instances serve under ``/serve/{instance_id}/v1``."""
ADMIN_PREFIX = "/_fake"
"""The fake's own control endpoints (never faulted, never recorded in ``calls``)."""
START_PATH = "/instances/start"
"""``POST`` here bills a new instance on every call: the one call that is not idempotent."""

PENDING = "pending"
RUNNING = "running"
STOPPED = "stopped"

BILLING_INTERVALS: tuple[str, ...] = ("per_minute", "per_hour")
DEFAULT_BILLING_INTERVAL = "per_minute"
MIN_WORKERS = 1
MAX_WORKERS = 8
DEFAULT_MAX_CONTEXT_LENGTH = 32000
"""The API never picks a longer context by default, even on hardware allowing more."""

DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_API_KEY = "demo-api-key"
"""The credentials the fake accepts unless told otherwise, for demos and tests."""


def to_hf_name(model_id: str) -> str:
    """The Hugging Face name for an API model id: ``org--model`` becomes ``org/model``."""
    return model_id.replace("--", "/")


def api_path(path: str) -> str:
    """``path`` relative to the API prefix and without a trailing slash, for matching."""
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX) :]
    return path.rstrip("/") or "/"
