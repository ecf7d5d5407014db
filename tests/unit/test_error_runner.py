"""Salt's ``error.error`` runner, the failing runner scenarios/runners.yaml uses because real
Salt 3008.3 has no ``test.raise`` runner (``salt-run test.raise`` fires nothing there)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from saltsim_master.errors import RunnerError
from saltsim_master.runners import run_runner

NO_MASTER = cast(Any, None)  # error.error never touches the master


def test_error_error_without_a_name_returns_an_empty_mapping() -> None:
    assert asyncio.run(run_runner(NO_MASTER, "error.error", [], {})) == {}


def test_error_error_raises_the_named_exception_with_its_message() -> None:
    with pytest.raises(RunnerError, match="Exception: boom"):
        asyncio.run(
            run_runner(NO_MASTER, "error.error", [], {"name": "Exception", "message": "boom"})
        )
