"""The public surface: what each room's ``__init__`` exports is exactly what it lists."""

from __future__ import annotations

import importlib
import types

import pulumi_cortecs
import pytest
from pulumi_cortecs import _exceptions

ROOMS = [
    "pulumi_cortecs",
    "pulumi_cortecs.api",
    "pulumi_cortecs.resource",
    "pulumi_cortecs.testing",
]


@pytest.mark.parametrize("name", ROOMS)
def test_every_listed_name_resolves_and_every_public_name_is_listed(name: str) -> None:
    room = importlib.import_module(name)
    for member in room.__all__:
        getattr(room, member)
    public = {
        member
        for member, value in vars(room).items()
        if not member.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(room.__all__), "a public name that __all__ does not list"
    assert sorted(room.__all__) == sorted(set(room.__all__))


def test_every_exception_the_package_raises_is_exported_under_one_root() -> None:
    raised = {
        value
        for value in vars(_exceptions).values()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert all(issubclass(error, pulumi_cortecs.CortecsError) for error in raised)
    assert {error.__name__ for error in raised} <= set(pulumi_cortecs.__all__)
