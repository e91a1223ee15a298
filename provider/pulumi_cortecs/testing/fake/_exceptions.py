"""The fake API's domain errors: what its rules refuse, in the rules' own terms.

The backend raises these and never an HTTP status; the responses layer
(:mod:`~pulumi_cortecs.testing.fake._responses`) maps each to the status and body the real API
answers with. Tree::

    FakeApiError
    ├── InvalidRequest     a start (or other call) the API refuses as invalid   -> 400
    ├── InvalidState       the instance is in the wrong status for the call     -> 400
    ├── NotFound           no such model or instance                            -> 404
    ├── BadCredentials     the client id or secret is wrong                     -> 401
    └── BadToken           no bearer token, or an unknown or expired one        -> 401
"""

from __future__ import annotations


class FakeApiError(Exception):
    """A request the fake's rules refuse; ``message`` is what the API says about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(FakeApiError):
    pass


class InvalidState(FakeApiError):
    pass


class NotFound(FakeApiError):
    @classmethod
    def instance(cls, instance_id: str) -> NotFound:
        return cls(f"instance {instance_id} not found")

    @classmethod
    def model(cls, model_id: str) -> NotFound:
        return cls(f"model {model_id} not found")


class BadCredentials(FakeApiError):
    pass


class BadToken(FakeApiError):
    pass
