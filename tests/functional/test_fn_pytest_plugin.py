"""The pytest plugin's testbed fixtures as a user's project meets them, through
``pytester``: ``testbed`` and ``recorder`` with the default options, ``testbed_options``
overridden and parametrised, a test's own options by marker, ``module_testbed`` shared
by a module, and ``scenario`` running a file. Local processes only (docker:
tests/unit/test_pytest_plugin.py fakes the engine away; tests/docker drives containers)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.functional


def test_testbed_and_recorder_with_the_default_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.functional

        def test_a_minion_starts(testbed, recorder):
            assert testbed.backend == "local"
            assert testbed.master_options["presence_events"] is True
            testbed.add_minion("m1")
            recorder.wait_for("salt/minion/m1/start", 30)
            recorder.wait_for("salt/presence/present", 30)
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_options_overridden_and_parametrised_and_one_module_testbed(
    pytester: pytest.Pytester,
) -> None:
    """Each dialect gets its own module testbed, shared by the module's tests; a
    per-test ``testbed`` is another one."""
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.functional
        SEEN = []

        @pytest.fixture(scope="module", params=["3008", "3006"])
        def testbed_options(request):
            return {"dialect": request.param, "master_options": {"auto_accept": True}}

        def test_first(module_testbed, testbed_options):
            assert module_testbed.dialect == testbed_options["dialect"]
            assert all(bed is not module_testbed for bed in SEEN)  # a new one per dialect
            SEEN.append(module_testbed)

        def test_second(module_testbed, testbed):
            assert testbed is not module_testbed and testbed.dialect == module_testbed.dialect
            SEEN.append(module_testbed)
            assert SEEN[-2] is SEEN[-1]
        """
    )
    result = pytester.runpytest("--strict-markers", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_first?3008? PASSED*",
            "*test_second?3008? PASSED*",
            "*test_first?3006? PASSED*",
            "*test_second?3006? PASSED*",
        ]
    )


def test_a_marker_gives_one_test_options_of_its_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        def testbed_options():
            return {"master_options": {"auto_accept": True}}

        @pytest.mark.testbed_options(dialect="3006", master_options={"max_minions": 1})
        def test_marked(testbed):
            assert testbed.dialect == "3006"
            assert testbed.master_options["max_minions"] == 1
            assert "auto_accept" not in testbed.master_options

        def test_unmarked(testbed):
            assert testbed.dialect == "3008" and testbed.master_options["auto_accept"] is True
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)


SCENARIO = """
name: one-start
description: one minion starts
settings:
  backend: local
  minions: [m1]
  master: {auto_accept: true}
steps:
  - start: all
  - wait: salt/minion/m1/start
    timeout: 30
"""


def test_scenario_runs_a_file_on_the_local_backend(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", one_start=SCENARIO)
    pytester.makepyfile(
        """
        def test_it_passes(scenario):
            outcome = scenario("one_start.yaml")
            assert outcome.ok, outcome.report()

        def test_a_dialect_override(scenario):
            outcome = scenario("one_start.yaml", dialect="3006")
            assert outcome.ok, outcome.report()
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)
