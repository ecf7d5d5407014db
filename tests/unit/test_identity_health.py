"""Container-derived minion ids and the minion healthcheck's reading of /proc/net/tcp."""

from __future__ import annotations

from pathlib import Path

import pytest

from saltsim.containerid import id_from_container_name, service_replica_id
from saltsim.health import main as health_main
from saltsim.health import minion_connected


@pytest.mark.parametrize(
    ("name", "service", "expected"),
    [
        ("saltsim_minion_3", "minion", "minion-3"),  # Compose v1
        ("saltsim_minion_3.saltsim_saltnet", "minion", "minion-3"),  # v1, reverse DNS
        ("saltsim-minion-12", "minion", "minion-12"),  # Compose v2
        ("stack_minion.3.k2j4h5.stack_saltnet", "minion", "minion-3"),  # Swarm task
        ("saltsimab12_swarm_2", "swarm", "swarm-2"),
        ("saltsimab12_swarm_2", "minion", "saltsimab12_swarm_2"),  # another service's name
        ("web1", "minion", "web1"),  # not a replica name: kept
    ],
)
def test_id_from_container_name(name: str, service: str, expected: str) -> None:
    assert id_from_container_name(name, service) == expected


def test_controller_and_container_agree() -> None:
    assert service_replica_id("minion", "07") == id_from_container_name("p_minion_7", "minion")


_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"


def _table(tmp_path: Path, *rows: str) -> Path:
    (tmp_path / "tcp").write_text(_HEADER + "".join(rows))
    return tmp_path


def test_minion_connected_needs_an_established_connection_to_the_master_port(
    tmp_path: Path,
) -> None:
    established = "   0: 0100007F:A1B2 0200000A:119A 01 00000000:00000000 00:00000000 00000000\n"
    syn_sent = "   1: 0100007F:A1B3 0200000A:119A 02 00000000:00000000 00:00000000 00000000\n"
    other_port = "   2: 0100007F:A1B4 0200000A:1196 01 00000000:00000000 00:00000000 00000000\n"
    assert minion_connected(4502, _table(tmp_path, established)) is False
    assert minion_connected(4506, _table(tmp_path, established)) is True  # 0x119A
    assert minion_connected(4506, _table(tmp_path, syn_sent, other_port)) is False
    assert minion_connected(4506, tmp_path / "missing") is False


def test_health_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert health_main(["bogus"]) == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["master", "--wait"],
        ["master", "--wait", "x"],
        ["master", "--wait", "-1"],
        ["minion", "5"],
        [],
    ],
)
def test_health_bad_wait_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert health_main(argv) == 2
    assert "--wait SECONDS" in capsys.readouterr().err


def test_health_wait_fails_at_its_deadline_when_nothing_listens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    probes: list[int] = []

    def refused() -> bool:
        probes.append(1)
        return False

    monkeypatch.setattr("saltsim.health.master_healthy", refused)
    assert health_main(["master", "--wait", "0.3"]) == 1
    assert len(probes) >= 2  # it probed again before giving up
    assert "not within 0.3s" in capsys.readouterr().err


def test_health_wait_returns_as_soon_as_the_probe_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([False, False, True])
    monkeypatch.setattr("saltsim.health.master_healthy", lambda: next(answers))
    assert health_main(["master", "--wait", "30"]) == 0
