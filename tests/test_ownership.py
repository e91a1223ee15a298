"""No instance is ever held by two resources, and none is billed that neither a stack's state
nor a journal knows about.

Each stack here is a provider process of its own, with its own working directory and home (so
its own journal directory, unless two stacks share a machine), driven the way the engine drives
it, against the fake API over HTTP: several stacks on one cortecs account, as teams have them.
Every test ends by checking both promises.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi_cortecs import ManagedInstance
from pulumi_cortecs._store import open_store
from pulumi_cortecs.testing import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    Deployment,
    FakeApiProcess,
    ProviderProcess,
    StateEntry,
    journal_directory,
    journaled_instances,
    program_inputs,
    provider_env,
)
from pulumi_cortecs.testing.engine import PROJECT, declare
from pulumi_cortecs.testing.fake import DEFAULT_RANDOM_KINDS
from pulumi_cortecs.testing.s3 import S3Server

from tests import LLAMA, MANAGED_INSTANCE_TYPE, unused_port, wait_for
from tests.reliability import run_fault_lifecycles

pytestmark = pytest.mark.engine

H100 = "NVIDIA_H100_1"


@dataclass
class Stack:
    """A stack of the project: its state, and the provider process of its current command."""

    name: str
    home: Path
    api: FakeApiProcess
    journal_url: str | None = None  # a journal in S3 that runners share, else the home's
    provider: ProviderProcess = field(init=False)
    deployment: Deployment = field(init=False)

    def __post_init__(self) -> None:
        self.deployment = Deployment(self.launch())

    def launch(self) -> ProviderProcess:
        """A new provider process, as each `pulumi` command starts one, keeping the state."""
        directory = self.home / "checkouts" / self.name
        directory.mkdir(parents=True, exist_ok=True)
        self.provider = ProviderProcess(
            env=provider_env(self.home, self.journal_url), cwd=directory
        )
        self.provider.configure(self.api.stack_config())
        if hasattr(self, "deployment"):
            self.deployment = Deployment(self.provider, self.deployment.state)
        return self.provider

    def declare(self, name: str = "chat", **inputs: Any) -> dict[str, Any]:
        return declare(name, stack=self.name, **inputs)

    def up(self, **resources: dict[str, Any]) -> dict[str, str]:
        return self.deployment.up(resources)

    def held(self) -> list[str]:
        return [entry.id for entry in self.deployment.state.values()]

    @property
    def journal(self) -> Path:
        return journal_directory(self.home)

    def owner(self, resource: str = "chat") -> str:
        """The URN of the stack's resource, which owns its instances."""
        return f"urn:pulumi:{self.name}::{PROJECT}::{MANAGED_INSTANCE_TYPE}::{resource}"


@pytest.fixture
def stacks(cortecs_api: FakeApiProcess, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """``stacks(name, machine=..., journal_url=...)``: a stack on its own machine, or on a named
    shared one; its journal in the machine's home, or in S3 at ``journal_url``."""
    made: list[Stack] = []

    def make(name: str, machine: str | None = None, journal_url: str | None = None) -> Stack:
        home = tmp_path / (machine or f"machine-of-{name}")
        stack = Stack(name, home, cortecs_api, journal_url)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.provider.close()


def journaled(*stacks: Stack) -> set[str]:
    """Every instance a journal of these stacks' machines keeps (the engine does not have it)."""
    return set().union(*(journaled_instances(s.home, s.journal_url) for s in stacks))


def assert_each_instance_owned_once(api: FakeApiProcess, *stacks: Stack) -> None:
    held = [instance_id for stack in stacks for instance_id in stack.held()]
    assert len(held) == len(set(held)), f"an instance held by two resources: {sorted(held)}"
    live = {instance["instance_id"] for instance in api.instances()}
    unknown = live - set(held) - journaled(*stacks)
    assert not unknown, f"billed, and known to no state or journal: {sorted(unknown)}"


def test_two_stacks_creating_identical_instances_at_once_each_get_their_own(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    cortecs_api.configure(step_seconds=0.3)
    a, b = stacks("a"), stacks("b")
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(a.up, chat=a.declare(model_id=LLAMA))
        wait_for(lambda: cortecs_api.state()["starts"] == 1)  # the first is booting
        second = pool.submit(b.up, chat=b.declare(model_id=LLAMA))
        assert first.result() == second.result() == {"chat": "create"}
    assert a.held() != b.held()
    assert cortecs_api.state()["starts"] == 2
    assert_each_instance_owned_once(cortecs_api, a, b)


def test_an_instance_resuming_in_one_stack_is_not_taken_by_another(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    a, b = stacks("a"), stacks("b")
    a.up(chat=a.declare(model_id=LLAMA, running=False))
    [paused] = a.held()
    cortecs_api.configure(step_seconds=0.3)
    with ThreadPoolExecutor(max_workers=1) as pool:
        resuming = pool.submit(a.up, chat=a.declare(model_id=LLAMA))
        wait_for(lambda: [i["status"] for i in cortecs_api.instances()] == ["pending"])
        assert b.up(chat=b.declare(model_id=LLAMA)) == {"chat": "create"}
        assert resuming.result() == {"chat": "update"}
    assert a.held() == [paused] and b.held() != [paused]
    assert_each_instance_owned_once(cortecs_api, a, b)


def test_a_stopped_declaration_never_stops_another_stacks_booting_instance(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    cortecs_api.configure(step_seconds=0.3)
    a, b = stacks("a"), stacks("b")
    with ThreadPoolExecutor(max_workers=1) as pool:
        booting = pool.submit(a.up, chat=a.declare(model_id=LLAMA))
        wait_for(lambda: cortecs_api.state()["starts"] == 1)
        b.up(chat=b.declare(model_id=LLAMA, running=False))
        booting.result()
    assert a.deployment.state["chat"].outputs["status"] == "running"
    assert b.deployment.state["chat"].outputs["status"] == "stopped"
    assert a.held() != b.held()
    assert_each_instance_owned_once(cortecs_api, a, b)


def _start_failing_while_the_other_starts(
    api: FakeApiProcess,
    failing: Stack,
    failing_inputs: dict[str, Any],
    other: Stack,
    other_inputs: dict[str, Any],
) -> Future[dict[str, str]]:
    """``failing``'s start is answered 503 (without acting); ``other`` then starts its own
    while ``failing`` checks what its start did. Returns ``failing``'s up."""
    other_checked, _ = other.provider.check(other.declare(**other_inputs))
    api.faults(fail_next={"status": 503, "path": "/instances/start"})
    pool = ThreadPoolExecutor(max_workers=1)
    failing_up = pool.submit(failing.up, chat=failing.declare(**failing_inputs))
    pool.shutdown(wait=False)
    wait_for(lambda: api.state()["faults_injected"].get("503") == 1)
    instance_id, outputs = other.provider.create(other_checked)
    other.deployment.state["chat"] = StateEntry(instance_id, other_checked, outputs)
    return failing_up


@pytest.mark.parametrize(
    ("failing_inputs", "other_inputs", "journal"),
    [
        ({}, {"hardware_type_id": H100}, "own"),
        ({}, {}, "same machine"),
        ({}, {}, "S3"),
    ],
    ids=[
        "other hardware, other machine",
        "same arguments, same machine",
        "same arguments, two runners sharing S3",
    ],
)
def test_a_failed_start_never_takes_what_another_stack_started_meanwhile(
    cortecs_api: FakeApiProcess,
    stacks: Callable[..., Stack],
    request: pytest.FixtureRequest,
    failing_inputs: dict[str, Any],
    other_inputs: dict[str, Any],
    journal: str,
) -> None:
    machine = "shared" if journal == "same machine" else None
    url = request.getfixturevalue("cortecs_s3_journal") if journal == "S3" else None
    a, b = stacks("a", machine=machine, journal_url=url), stacks("b", machine, url)
    up = _start_failing_while_the_other_starts(
        cortecs_api,
        b,
        {"model_id": LLAMA, **failing_inputs},
        a,
        {"model_id": LLAMA, **other_inputs},
    )
    assert up.result() == {"chat": "create"}
    calls = [c for c in cortecs_api.state()["calls"] if c[0] == "POST"]
    assert calls.count(["POST", "/api/v1/instances/start"]) == 3, "b's start failed, a's landed"
    assert a.held() != b.held()
    assert b.deployment.state["chat"].outputs["hardware_type_id"] == "NVIDIA_L4_1"
    assert_each_instance_owned_once(cortecs_api, a, b)


def test_with_adopt_existing_off_a_failed_start_fails_rather_than_infer_ownership(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    """Stacks on two machines cannot see each other's starts: the only new instance after a
    lost answer may be the other stack's. ``adopt_existing: false`` never infers."""
    a, b = stacks("a"), stacks("b")
    up = _start_failing_while_the_other_starts(
        cortecs_api, b, {"model_id": LLAMA, "adopt_existing": False}, a, {"model_id": LLAMA}
    )
    with pytest.raises(grpc.RpcError) as failed:
        up.result()
    [theirs] = a.held()
    assert "ownership is only inferred is turned off" in str(failed.value.details())
    assert theirs in str(failed.value.details()) and "cortecs-instances orphans" in str(
        failed.value.details()
    )
    assert b.held() == [] and [i["instance_id"] for i in cortecs_api.instances()] == [theirs]
    assert_each_instance_owned_once(cortecs_api, a, b)


def test_two_stacks_on_one_machine_with_identical_instances_under_30_percent_faults(
    cortecs_api: FakeApiProcess,
) -> None:
    run = run_fault_lifecycles(
        cortecs_api, rate=0.30, seed=5, count=2, parallel=2, machines=1, identical=True
    )
    assert run.failures == []
    assert (run.leaked, run.duplicates, run.shared) == (0, 0, 0)


def _kill_mid_boot(api: FakeApiProcess, stack: Stack, inputs: dict[str, Any]) -> str:
    """Start a create, kill the provider process once the instance is started (the worst
    moment: billed, and not yet in the state); returns the instance's id."""
    api.configure(step_seconds=0.4)
    checked, _ = stack.provider.check(inputs)
    failures: list[grpc.RpcError] = []

    def create() -> None:
        try:
            stack.provider.create(checked)
        except grpc.RpcError as error:
            failures.append(error)

    creating = threading.Thread(target=create)
    creating.start()
    assert stack.provider.logged(f"for {stack.owner()}", timeout=20)
    stack.provider.kill()
    creating.join()
    assert failures, "the killed create never returned to the engine"
    [instance] = api.instances()
    # Nothing unknown: even a run whose journal is lost named the instance and its owner.
    assert f"started {instance['instance_id']} for {stack.owner()}" in stack.provider.shown
    return str(instance["instance_id"])


@pytest.mark.parametrize(
    "runner", ["same machine", "fresh runner, journal restored", "other runner, journal in S3"]
)
def test_a_create_killed_mid_boot_is_adopted_by_the_rerun(
    cortecs_api: FakeApiProcess,
    stacks: Callable[..., Stack],
    request: pytest.FixtureRequest,
    runner: str,
) -> None:
    url = request.getfixturevalue("cortecs_s3_journal") if "S3" in runner else None
    first = stacks("ci", journal_url=url)
    inputs = first.declare(model_id=LLAMA)
    orphan = _kill_mid_boot(cortecs_api, first, inputs)
    if runner == "same machine":
        rerun = first
        rerun.launch()
    elif url is not None:
        rerun = stacks("ci", machine="other-runner", journal_url=url)
    else:
        rerun = stacks("ci", machine="fresh-runner")
        shutil.copytree(first.journal, rerun.journal)  # the CI cache, restored
    assert rerun.up(chat=inputs) == {"chat": "create"}
    assert rerun.held() == [orphan]
    assert rerun.provider.logged(f"adopted {orphan}")
    assert cortecs_api.state()["starts"] == 1
    assert orphan not in journaled(rerun), "forgotten once the engine has it"
    assert_each_instance_owned_once(cortecs_api, rerun)


def test_a_fresh_runner_without_the_journal_starts_anew_and_the_log_names_the_first(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    first = stacks("ci")
    inputs = first.declare(model_id=LLAMA)
    orphan = _kill_mid_boot(cortecs_api, first, inputs)
    rerun = stacks("ci", machine="fresh-runner")
    assert rerun.up(chat=inputs) == {"chat": "create"}
    assert rerun.held() != [orphan], "nothing proves the orphan is this resource's"
    assert cortecs_api.state()["starts"] == 2
    # Its only record is the first run's log (asserted above) and the lost machine's journal,
    # where `orphans` shows it, its owner and how to clean it.
    assert orphan in journaled(first)
    listed = subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs", "orphans", "--json"],
        env=provider_env(
            first.home,
            CORTECS_API_BASE_URL=cortecs_api.api_base_url,
            CORTECS_CLIENT_ID=DEMO_CLIENT_ID,
            CORTECS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    [row] = json.loads(listed.stdout)["orphans"]
    assert (row["instance_id"], row["owner"]) == (orphan, first.owner())
    assert f"cortecs-instances delete {orphan}" in row["clean"]
    assert_each_instance_owned_once(cortecs_api, first, rerun)


def test_a_journal_that_cannot_be_written_starts_nothing_and_names_its_location(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    stack = stacks("a")
    stack.journal.parent.mkdir(parents=True)
    stack.journal.write_text("a file where the journal directory belongs")
    with pytest.raises(grpc.RpcError) as failed:
        stack.up(chat=stack.declare(model_id=LLAMA))
    details = str(failed.value.details())
    assert str(stack.journal) in details and "nothing was started" in details
    assert "CORTECS_JOURNAL_DIR" in details
    assert cortecs_api.state()["starts"] == 0


def test_a_corrupt_journal_fails_naming_its_path_and_is_never_reset(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    stack = stacks("a")
    stack.journal.mkdir(parents=True)
    path = stack.journal / f"{PROJECT}.a.json"
    path.write_text('{"format": 1, "starts": [{"key": "trunc')
    with pytest.raises(grpc.RpcError) as failed:
        stack.up(chat=stack.declare(model_id=LLAMA))
    details = str(failed.value.details())
    assert f"the journal {path} cannot be read" in details
    assert "cortecs-instances orphans" in details
    assert path.read_text() == '{"format": 1, "starts": [{"key": "trunc'
    assert cortecs_api.state()["starts"] == 0


def test_two_processes_writing_one_journal_lose_no_record(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    """Twelve creates in each of two processes of one stack, both killed mid-way; the re-run
    adopts every instance they started and starts the rest: exactly 24, none shared."""
    cortecs_api.configure(step_seconds=0.4)
    first, second = stacks("shared", machine="m"), stacks("shared", machine="m")
    names = [f"llm-{n}" for n in range(24)]
    declared = program_inputs(
        lambda: [
            ManagedInstance(n, model_id=LLAMA, context_length=4000 + i) for i, n in enumerate(names)
        ],
        stack="shared",
    )

    def create(stack: Stack, name: str) -> None:
        checked, _ = stack.provider.check(declared[name])
        with contextlib.suppress(grpc.RpcError):  # the process is killed mid-create
            stack.provider.create(checked)

    with ThreadPoolExecutor(max_workers=24) as pool:
        for index, name in enumerate(names):
            pool.submit(create, first if index < 12 else second, name)
        wait_for(lambda: cortecs_api.state()["starts"] >= 16)
        first.provider.kill()
        second.provider.kill()
    rerun = stacks("shared", machine="m")
    with ThreadPoolExecutor(max_workers=24) as pool:
        created = dict(
            zip(
                names,
                pool.map(
                    lambda name: rerun.provider.create(rerun.provider.check(declared[name])[0]),
                    names,
                ),
                strict=True,
            )
        )
    ids = [instance_id for instance_id, _ in created.values()]
    assert len(set(ids)) == 24
    assert sorted(i["instance_id"] for i in cortecs_api.instances()) == sorted(ids)
    assert cortecs_api.state()["starts"] == 24, "every start the killed runs made was adopted"
    assert journaled(rerun) == set(), "every record forgotten once the engine has its id"


def test_a_start_waiting_out_a_rate_limit_never_holds_up_another_resources_check_or_diff(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack]
) -> None:
    stack = stacks("a")
    other = stack.declare("other", model_id=LLAMA)
    stack.up(other=other)
    cortecs_api.faults(fail_next={"status": 429, "path": "/instances/start", "retry_after": 5})
    with ThreadPoolExecutor(max_workers=1) as pool:
        creating = pool.submit(stack.up, other=other, chat=stack.declare(model_id=LLAMA))
        wait_for(lambda: cortecs_api.state()["faults_injected"].get("429") == 1)
        entry = stack.deployment.state["other"]
        checked, failures = stack.provider.check(other)
        stack.provider.diff(entry.id, entry.outputs, checked)
        assert not creating.done(), "check and diff answered while the start was waiting"
        assert failures == []
        assert creating.result() == {"other": "same", "chat": "create"}
    assert_each_instance_owned_once(cortecs_api, stack)


def create_at_once(stack: Stack, declared: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Every declared resource created at once, as the engine creates independent resources:
    what became of each (its instance id, or the error), the created ones in the state."""

    def create(name: str) -> str:
        checked, _ = stack.provider.check(declared[name])
        try:
            instance_id, outputs = stack.provider.create(checked)
        except grpc.RpcError as error:
            return f"failed: {error.details()}"
        stack.deployment.state[name] = StateEntry(instance_id, checked, outputs)
        return instance_id

    with ThreadPoolExecutor(max_workers=len(declared)) as pool:
        return dict(zip(declared, pool.map(create, declared), strict=True))


def assert_each_created_its_own(created: dict[str, str]) -> None:
    ids = list(created.values())
    assert all(id_.startswith("instance-") for id_ in ids) and len(set(ids)) == len(ids), created


@pytest.mark.parametrize("owners", ["URNs", "one older owner name"])
def test_resources_of_one_name_under_ten_components_each_get_their_own_instance(
    cortecs_api: FakeApiProcess,
    stacks: Callable[..., Stack],
    cortecs_s3_journal: str,
    owners: str,
) -> None:
    """Ten components each with a child ``llm`` and the same arguments, in one ``up``: ten
    instances, whether the owners are URNs (which differ) or the name older releases gave them
    all (``project/stack/llm``: then only the records' live writer tells them apart)."""
    stack = stacks("a", journal_url=cortecs_s3_journal)
    inputs = stack.declare("llm", model_id=LLAMA)
    declared = {
        f"app-{n}/llm": {
            **inputs,
            "owner": (
                f"urn:pulumi:a::{PROJECT}::demo:index:App{n}${MANAGED_INSTANCE_TYPE}::llm"
                if owners == "URNs"
                else f"{PROJECT}/a/llm"
            ),
        }
        for n in range(10)
    }
    created = create_at_once(stack, declared)
    assert_each_created_its_own(created)
    assert cortecs_api.state()["starts"] == 10
    assert_each_instance_owned_once(cortecs_api, stack)


def test_two_runners_creating_sixteen_identical_instances_each_under_30_percent_faults(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack], cortecs_s3_journal: str
) -> None:
    """Two CI runners, no common disk, one journal in S3; every start may be refused, slowed,
    or have its answer lost. Some creates may fail (an uncertain start that cannot tell its
    instance from a rival's takes none), but none shares an instance and none leaks one."""
    runners = [stacks(f"runner-{n}", journal_url=cortecs_s3_journal) for n in range(2)]
    declared = [
        program_inputs(
            lambda: [ManagedInstance(f"llm-{i}", model_id=LLAMA) for i in range(16)],
            stack=runner.name,
        )
        for runner in runners
    ]
    cortecs_api.faults(
        random={"rate": 0.30, "seed": 19, "kinds": list(DEFAULT_RANDOM_KINDS)}, slow_seconds=0.2
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(create_at_once, runners, declared))
    cortecs_api.faults(clear={})
    assert cortecs_api.state()["faults_injected"], "faults were injected"
    created = [id_ for outcome in outcomes for id_ in outcome.values() if id_.startswith("inst")]
    assert len(created) == len(set(created)) and created, outcomes
    assert_each_instance_owned_once(cortecs_api, *runners)


def test_a_journal_in_s3_that_is_not_utf8_fails_naming_its_url_and_is_never_reset(
    cortecs_api: FakeApiProcess, stacks: Callable[..., Stack], cortecs_s3_journal: str
) -> None:
    stack = stacks("a", journal_url=cortecs_s3_journal)
    store = open_store(cortecs_s3_journal)
    store.put(f"{PROJECT}.a.json", b"\xff\xfe\x00 not UTF-8", version=None)
    with pytest.raises(grpc.RpcError) as failed:
        stack.up(chat=stack.declare(model_id=LLAMA))
    details = str(failed.value.details())
    assert f"the journal {cortecs_s3_journal}/{PROJECT}.a.json cannot be read" in details
    assert f"orphans --journal-url {cortecs_s3_journal}" in details
    assert "UnicodeDecodeError" not in details
    stored = store.get(f"{PROJECT}.a.json")
    assert stored is not None and stored.data == b"\xff\xfe\x00 not UTF-8"
    assert cortecs_api.state()["starts"] == 0


@pytest.mark.parametrize("fault", ["unreachable", "403"])
def test_a_journal_in_s3_that_cannot_be_written_starts_nothing_and_names_its_url(
    cortecs_api: FakeApiProcess,
    stacks: Callable[..., Stack],
    cortecs_s3: S3Server,
    cortecs_s3_journal: str,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    if fault == "unreachable":
        port = unused_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    else:
        cortecs_s3.denied = True
    stack = stacks("a", journal_url=cortecs_s3_journal)
    with pytest.raises(grpc.RpcError) as failed:
        stack.up(chat=stack.declare(model_id=LLAMA))
    details = str(failed.value.details())
    assert f"the journal {cortecs_s3_journal}/{PROJECT}.a.json cannot be" in details
    assert "nothing was started" in details
    assert "cortecs-test-secret" not in details and "cortecs-test" not in details.replace(
        cortecs_s3_journal, ""
    )
    assert cortecs_api.state()["starts"] == 0


def test_a_storm_of_conditional_write_conflicts_loses_no_record(
    cortecs_api: FakeApiProcess,
    stacks: Callable[..., Stack],
    cortecs_s3: S3Server,
    cortecs_s3_journal: str,
) -> None:
    """Every other journal write refused 412 for a while, as when many runners write at once:
    the creates ride it out and their records are all kept."""
    stack = stacks("a", journal_url=cortecs_s3_journal)
    declared = program_inputs(
        lambda: [ManagedInstance(f"llm-{i}", model_id=LLAMA) for i in range(4)], stack="a"
    )
    cortecs_s3.refuse_writes(30)
    created = create_at_once(stack, declared)
    assert cortecs_s3.refused == 30
    assert_each_created_its_own(created)
    assert journaled(stack) == set(), "every record handed over"
    assert_each_instance_owned_once(cortecs_api, stack)
