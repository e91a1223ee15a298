"""A moto-style local fake of the cortecs.ai dedicated-instance API.

:class:`FakeBackend` holds the state and rules; transports carry requests to it:
:class:`mock_api` (respx, in-process) and :class:`FakeServer` (a real HTTP server, also
``python -m provider.fake``). :class:`ManualClock` makes lifecycles instant and deterministic;
``backend.faults`` (:class:`Faults`) injects errors, drops and latency.
"""

from provider.fake.backend import FakeBackend
from provider.fake.clock import ManualClock
from provider.fake.faults import ALL_KINDS, Faults
from provider.fake.instances import FakeInstance
from provider.fake.mock import mock_api
from provider.fake.server import FakeServer
from provider.fake.wire import FakeRequest, FakeResponse

__all__ = [
    "ALL_KINDS",
    "FakeBackend",
    "FakeInstance",
    "FakeRequest",
    "FakeResponse",
    "FakeServer",
    "Faults",
    "ManualClock",
    "mock_api",
]
