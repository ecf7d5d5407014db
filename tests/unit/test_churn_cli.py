"""``saltsim fuzz``: bad arguments are refused before anything starts."""

from __future__ import annotations

import pytest

from saltsim.churn.broken import BUGS
from saltsim.cli import main


def test_list_broken_names_every_broken_master(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--list-broken"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(BUGS)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fuzz", "--steps", "0"], "must be at least 1, not 0"),
        (["fuzz", "--examples", "x"], "invalid _positive value"),
        (["fuzz", "--backend", "k8s"], "invalid choice: 'k8s'"),
        (["fuzz", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unknown_broken_master_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--broken", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown broken master 'nope'" in err and "key-keeps-deleted" in err


def test_a_broken_master_cannot_run_on_docker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--backend", "docker", "--broken", "bus-drops-events"]) == 2
    assert "local backend only" in capsys.readouterr().err


def test_the_broken_master_entry_point_refuses_an_unknown_bug() -> None:
    from saltsim.churn.broken import main as broken_main

    with pytest.raises(SystemExit, match="unknown bug 'nope'"):
        broken_main(["nope", "-c", "master.yaml"])
    with pytest.raises(SystemExit, match="usage"):
        broken_main([])
