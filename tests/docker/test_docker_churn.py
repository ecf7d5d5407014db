"""The churn fuzzer on containers: the same machine and invariants, with network cuts."""

from __future__ import annotations

from pathlib import Path

import pytest

from saltsim.churn import ChurnSettings, run_campaign

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]

DOCKER_SEED = 31  # a later example cuts a connected minion off and reconnects it


def test_a_short_docker_campaign_holds_every_invariant(tmp_path: Path) -> None:
    settings = ChurnSettings(
        backend="docker",
        seed=DOCKER_SEED,
        examples=3,
        min_examples=3,
        steps=20,
        converge_timeout=40.0,
        require_coverage=False,
        out_dir=tmp_path,
    )
    result = run_campaign(settings, print)
    assert result.failure is None, result.failure
    for transition in ("present -> lost (disconnect)", "reconnect -> new", "master restart"):
        assert result.counts.get(transition, 0) >= 1, result.coverage
