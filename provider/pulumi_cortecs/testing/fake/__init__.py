"""A moto-style local fake of the cortecs.ai dedicated-instance API.

Its rooms, as moto's (``models.py``, ``responses.py``, ``urls.py``):

- :class:`FakeBackend` (``_backend``): the state and the rules, with typed arguments; it never
  sees HTTP and refuses with its own exceptions (``_exceptions``). Its instances
  (:class:`FakeInstance`, ``_instances``) work out their lifecycle from an injected clock
  (:class:`ManualClock` makes lifecycles instant and deterministic). The catalog is data
  (:mod:`~pulumi_cortecs.testing.fake.catalog`); the API's constants are the fake's own
  (``_constants``), never the client's, so a wrong client constant is caught.
- The responses layer (``_responses``, rendering with ``_shapes``): parses a request, calls a
  rule, renders the answer, and maps refusals to statuses.
- The routes (``_routes``): one table of method and path to handler, and the entry both
  transports call. Admin endpoints under ``/_fake/`` (``_admin``) steer a fake in another
  process.
- Faults (``_faults``): a registry of fault kinds (:data:`FAULT_KINDS`); ``backend.faults``
  (:class:`Faults`) injects them, scripted or at random.
- Transports: :class:`mock_api` (respx, in-process; the only module needing respx, imported
  on first use) and :class:`FakeServer` (a real HTTP server, also
  ``python -m pulumi_cortecs.testing.fake``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_cortecs._lazy import lazy_exports
from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._clock import ManualClock
from pulumi_cortecs.testing.fake._constants import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.fake._exceptions import (
    BadCredentials,
    BadToken,
    FakeApiError,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from pulumi_cortecs.testing.fake._faults import (
    DEFAULT_RANDOM_KINDS,
    FAULT_COMMANDS,
    FAULT_KINDS,
    FaultKind,
    Faults,
)
from pulumi_cortecs.testing.fake._instances import FakeInstance
from pulumi_cortecs.testing.fake._server import FakeServer
from pulumi_cortecs.testing.fake._tokens import TokenStore
from pulumi_cortecs.testing.fake._wire import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from pulumi_cortecs.testing.fake._mock import mock_api

__all__ = [
    "DEFAULT_RANDOM_KINDS",
    "DEMO_API_KEY",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "FAULT_COMMANDS",
    "FAULT_KINDS",
    "BadCredentials",
    "BadToken",
    "FakeApiError",
    "FakeBackend",
    "FakeInstance",
    "FakeRequest",
    "FakeResponse",
    "FakeServer",
    "FaultKind",
    "Faults",
    "InvalidRequest",
    "InvalidState",
    "ManualClock",
    "NotFound",
    "TokenStore",
    "mock_api",
]

# respx is the `testing` extra: mock_api is imported when first used, not with the package.
__getattr__, __dir__ = lazy_exports(__name__, {"mock_api": "_mock"})
