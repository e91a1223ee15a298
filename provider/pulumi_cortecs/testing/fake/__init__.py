"""A moto-style local fake of the cortecs.ai dedicated-instance API.

:class:`FakeBackend` holds the state and rules; transports carry requests to it:
:class:`mock_api` (respx, in-process) and :class:`FakeServer` (a real HTTP server, also
``python -m pulumi_cortecs.testing.fake``). :class:`ManualClock` makes lifecycles instant and
deterministic; ``backend.faults`` (:class:`Faults`) injects errors, drops and latency.
"""

from pulumi_cortecs.testing.fake.backend import FakeBackend
from pulumi_cortecs.testing.fake.clock import ManualClock
from pulumi_cortecs.testing.fake.faults import ALL_KINDS, Faults
from pulumi_cortecs.testing.fake.instances import FakeInstance
from pulumi_cortecs.testing.fake.mock import mock_api
from pulumi_cortecs.testing.fake.server import FakeServer
from pulumi_cortecs.testing.fake.wire import FakeRequest, FakeResponse

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
