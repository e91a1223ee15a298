"""Test helpers for code that uses cortecs.ai instances, and this project's own tests.

- A fake of the API (:class:`FakeBackend`), in-process (:class:`mock_api`, needs respx) or over
  HTTP (:class:`FakeServer`, or ``python -m pulumi_cortecs.testing.fake``), on a
  :class:`ManualClock` so lifecycles are instant and deterministic.
- The fake in its own process, steered through its admin endpoints (:class:`FakeApiProcess`).
- A driver that plays the Pulumi engine's part against a provider process over gRPC
  (:class:`ProviderProcess`, :class:`Deployment`, :func:`program_inputs`).
- moto's S3 over HTTP with faults to inject (:class:`S3Server`), for a journal in a bucket.
- pytest fixtures (``cortecs_clock``, ``cortecs_mock``, ``cortecs_api``, ``cortecs_engine``,
  ``cortecs_s3``, ``cortecs_s3_journal``), registered as a pytest plugin when this package is
  installed.

Names are imported on first use, so the plugin loads nothing heavy into a test session.
"""

import typing

from pulumi_cortecs import _lazy

if typing.TYPE_CHECKING:
    from pulumi_cortecs.testing.engine import (
        CheckFailed,
        Deployment,
        ProviderProcess,
        StateEntry,
        program_inputs,
    )
    from pulumi_cortecs.testing.fake import (
        DEMO_API_KEY,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        FakeBackend,
        FakeServer,
        Faults,
        ManualClock,
        mock_api,
    )
    from pulumi_cortecs.testing.processes import (
        DEMO_CONFIG,
        FakeApiProcess,
        journal_directory,
        journaled_instances,
        provider_env,
        start_fake_api,
        without_credentials,
    )
    from pulumi_cortecs.testing.s3 import S3Server

_SUBMODULES: dict[str, str] = {
    **dict.fromkeys(
        ("CheckFailed", "Deployment", "ProviderProcess", "StateEntry", "program_inputs"), "engine"
    ),
    **dict.fromkeys(
        (
            "DEMO_API_KEY",
            "DEMO_CLIENT_ID",
            "DEMO_CLIENT_SECRET",
            "FakeBackend",
            "FakeServer",
            "Faults",
            "ManualClock",
            "mock_api",
        ),
        "fake",
    ),
    **dict.fromkeys(
        (
            "DEMO_CONFIG",
            "FakeApiProcess",
            "journal_directory",
            "journaled_instances",
            "provider_env",
            "start_fake_api",
            "without_credentials",
        ),
        "processes",
    ),
    "S3Server": "s3",
}

__all__ = [
    "DEMO_API_KEY",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_CONFIG",
    "CheckFailed",
    "Deployment",
    "FakeApiProcess",
    "FakeBackend",
    "FakeServer",
    "Faults",
    "ManualClock",
    "ProviderProcess",
    "S3Server",
    "StateEntry",
    "journal_directory",
    "journaled_instances",
    "mock_api",
    "program_inputs",
    "provider_env",
    "start_fake_api",
    "without_credentials",
]

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _SUBMODULES)
