"""The pytest plugin as a user's project meets it, through ``pytester``: its markers under
``--strict-markers``, the bus fixtures, and the docker gate (an engine is faked away, so
nothing here needs one). The testbed fixtures start processes: tests/functional has them."""

from __future__ import annotations

import pytest

from saltsim.pytest_plugin import REQUIRE_DOCKER_ENV

pytest_plugins = ["pytester"]

NO_ENGINE = "no Docker engine (faked by the test)"


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine probe answers 'none' (pytester runs the inner session in this process)."""
    monkeypatch.setattr("saltsim.testbed._engine.engine_reachable", lambda: NO_ENGINE)
    monkeypatch.delenv(REQUIRE_DOCKER_ENV, raising=False)


def test_the_plugin_registers_its_markers_so_strict_projects_may_use_them(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.functional
        def test_functional():
            pass

        @pytest.mark.docker
        def test_docker():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=2)
    listed = pytester.runpytest("--markers")
    listed.stdout.fnmatch_lines(
        ["@pytest.mark.docker: *", "@pytest.mark.functional: *", "@pytest.mark.testbed_options*"]
    )


def test_an_unknown_marker_is_still_refused_under_strict_markers(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.dockr
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'dockr' not found in `markers` configuration option*"])


def test_event_listener_is_armed_on_event_bus(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fire_and_receive(event_bus, event_listener):
            assert event_listener.pub_address == event_bus.pub_address
            assert event_listener.fire_event({"n": 1}, "test/plugin/fired")
            event = event_listener.wait_for("test/plugin/fired", 10)
            assert event.data == {"n": 1}
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_bus_process_serves_from_another_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        from saltsim.client import EventClient

        def test_bus_in_its_own_process(bus_process):
            assert bus_process.pid != os.getpid()
            with EventClient(bus_process.pub_address, bus_process.pull_address) as client:
                client.wait_ready(10)
                assert client.fire_event({"n": 2}, "test/plugin/proc")
                assert client.wait_for("test/plugin/proc", 10).data == {"n": 2}
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


# module_testbed reads the module's markers (it serves the whole module), so docker is
# marked here for the module.
DOCKER_TESTS = """
    import pytest

    pytestmark = pytest.mark.docker

    def test_engine(docker_engine):
        pass

    def test_testbed(testbed):
        pass

    def test_module_testbed(module_testbed):
        pass
"""


@pytest.mark.usefixtures("no_engine")
def test_docker_tests_skip_in_one_line_without_an_engine(pytester: pytest.Pytester) -> None:
    """Every docker-marked test skips, with the probe's reason, before any container;
    the others run."""
    pytester.makepyfile(
        test_docker=DOCKER_TESTS, test_plain="def test_needs_no_engine(event_bus): pass"
    )
    result = pytester.runpytest("--strict-markers", "-rs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines([f"SKIPPED * docker tests skipped: {NO_ENGINE}"])


@pytest.mark.usefixtures("no_engine")
def test_docker_tests_fail_without_an_engine_when_it_is_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As CI: with SALTSIM_REQUIRE_DOCKER set, a missing engine is an error, not a skip."""
    monkeypatch.setenv(REQUIRE_DOCKER_ENV, "1")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.docker
        def test_testbed(testbed):
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{NO_ENGINE}; {REQUIRE_DOCKER_ENV} is set*"])


def test_a_narrower_testbed_options_override_is_refused_by_module_testbed(
    pytester: pytest.Pytester,
) -> None:
    """``testbed_options`` has module scope; a function-scoped override cannot serve the
    module's testbed, and pytest says so before starting anything."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def testbed_options():
            return {}

        def test_shared(module_testbed):
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ScopeMismatch*"])
