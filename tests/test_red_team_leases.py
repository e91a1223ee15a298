"""Red team: leases in a shared bucket are written by anyone with access to it. A forged or
ill-typed lease must never make ``reap`` stop or delete an instance it does not describe, nor
stop ``reap`` from acting on the other, valid leases (against the in-process fake)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pulumi_cortecs import Client, PriceInfo
from pulumi_cortecs._leases import FAILED, LEFT_ALONE, STOPPED, Lease, Leases
from pulumi_cortecs.testing import FakeBackend, ManualClock

from tests import LLAMA_ID
from tests.test_leases import client, leases

__all__ = ["client", "leases"]  # fixtures shared with test_leases

L4_PRICE = PriceInfo(price_per_hour=0.89, price_per_minute=0.0148, currency="EUR")


def running(backend: FakeBackend, clock: ManualClock) -> str:
    instance = backend.add_foreign_instance(
        {"model_id": LLAMA_ID, "hardware_type_id": "NVIDIA_L4_1", "num_workers": 1}
    )
    clock.advance(1)
    return instance.instance_id


def granted(client: Client, leases: Leases, instance_id: str) -> Lease:
    lease = Lease.of(
        client.get_instance(instance_id),
        owner="urn:pulumi:dev::p::cortecs:index:Instance::llm",
        expires_at=leases.now() + 60,
        price=L4_PRICE,
    )
    leases.grant(lease)
    return lease


def forge(leases: Leases, instance_id: str, **fields: object) -> None:
    """Overwrite the instance's lease document with ``fields`` changed, as a stranger would."""
    path = Path(leases.where(instance_id))
    document = json.loads(path.read_text())
    document["lease"].update(fields)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_at": "now"},
        {"expires_at": None},
        {"started_at": "yesterday"},
        {"args": ["model_id"]},
        {"claimed_at": "long ago", "claimed_by": "x"},
        {"price_per_hour": "cheap"},
    ],
    ids=repr,
)
def test_an_ill_typed_lease_is_reported_and_the_other_leases_are_still_reaped(
    cortecs_mock: FakeBackend,
    client: Client,
    leases: Leases,
    cortecs_clock: ManualClock,
    fields: dict[str, object],
) -> None:
    forged, honest = running(cortecs_mock, cortecs_clock), running(cortecs_mock, cortecs_clock)
    granted(client, leases, forged)
    granted(client, leases, honest)
    forge(leases, forged, **fields)
    cortecs_clock.advance(120)

    outcomes = {reaped.instance_id: reaped for reaped in leases.reap(client)}

    assert outcomes[honest].outcome == STOPPED
    assert outcomes[forged].outcome in (FAILED, LEFT_ALONE)
    assert leases.where(forged) in outcomes[forged].detail
    assert cortecs_mock.get_instance(forged).status(cortecs_clock()) == "running"


def test_a_lease_copied_under_another_instance_s_name_is_left_alone(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    """A stranger copies instance B's lease to A's key with an earlier end: reap must not read
    it as a licence to stop B before B's own lease runs out."""
    decoy, target = running(cortecs_mock, cortecs_clock), running(cortecs_mock, cortecs_clock)
    granted(client, leases, decoy)
    lease = granted(client, leases, target)
    leases.grant(dataclasses.replace(lease, expires_at=leases.now() + 3600))
    copy = dataclasses.replace(lease, expires_at=leases.now() - 1)
    Path(leases.where(decoy)).write_bytes(copy.to_bytes())

    (reaped,) = leases.reap(client)

    assert reaped.outcome in (FAILED, LEFT_ALONE)
    assert cortecs_mock.get_instance(target).status(cortecs_clock()) == "running"
