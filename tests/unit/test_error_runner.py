"""Salt's ``error.error`` runner, the failing runner scenarios/runners.yaml uses because real
Salt 3008.3 has no ``test.raise`` runner (``salt-run test.raise`` fires nothing there)."""

from __future__ import annotations

import asyncio

import pytest
from saltsim_master.builtin_runners import PLAIN_RUNNERS
from saltsim_master.errors import RunnerError
from saltsim_master.jobs import JidMaker
from saltsim_master.runners import Runners


class Core:
    """The runners' context: a jid maker and a bus that keeps what was fired."""

    def __init__(self) -> None:
        self.make_jid = JidMaker()
        self.fired: list[tuple[str, dict[str, object]]] = []

    def fire(self, tag: str, data: dict[str, object]) -> None:
        self.fired.append((tag, data))


def _runners() -> Runners:
    runners = Runners(Core())
    runners.add(PLAIN_RUNNERS, None)  # error.error needs no part
    return runners


def test_error_error_without_a_name_returns_an_empty_mapping() -> None:
    assert asyncio.run(_runners().call("error.error", [], {})) == {}


def test_error_error_raises_the_named_exception_with_its_message() -> None:
    with pytest.raises(RunnerError, match="Exception: boom"):
        asyncio.run(_runners().call("error.error", [], {"name": "Exception", "message": "boom"}))
