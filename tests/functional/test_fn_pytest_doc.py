"""docs/pytest.md's example runs as written: its first Python block, a user's test module
of a reactor-like function, through ``pytester`` with ``--strict-markers`` (#16 item 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.functional

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


def _first_python_block() -> str:
    found = re.search(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert found, f"no python block in {PAGE}"
    return found.group(1)


def test_the_pages_reactor_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_welcome=_first_python_block())
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
