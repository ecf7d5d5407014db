"""docs/tour.md runs as written: its marked shell blocks in order, in one shell, against the
compose stack on free ports with a session label; each block's output holds the lines the
page shows after it (``...`` stands for what changes from run to run)."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from saltsim.testbed._engine import SESSION_LABEL, compose_command, compose_file, engine
from saltsim.testbed.docker_backend import _sweep
from saltsim.testbed.images import ensure_images
from saltsim.testbed.local import free_ports

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]

TOUR = Path(__file__).resolve().parents[2] / "docs" / "tour.md"
MARK = re.compile(r"<!-- tour(?:: (?P<file>\S+))? -->")
FENCE = re.compile(r"```(?P<lang>\w*)\n(?P<body>.*?)```\n", re.S)
BLOCK = "@@tour-block {}@@"
TOUR_TIMEOUT = 420  # seconds for the whole page (about 40 s here)


@dataclasses.dataclass
class Block:
    script: str
    shown: list[str]  # the output lines the page shows after it


def tour(text: str) -> tuple[list[Block], dict[str, str]]:
    """The marked shell blocks with the output shown after each, and the marked files."""
    blocks: list[Block] = []
    files: dict[str, str] = {}
    for mark in MARK.finditer(text):
        fence = FENCE.match(text, mark.end() + 1)
        assert fence, f"no fenced block right after {mark.group(0)} at {mark.start()}"
        if mark.group("file"):
            files[mark.group("file")] = fence.group("body")
            continue
        assert fence.group("lang") == "sh", f"a tour block must be sh, at {mark.start()}"
        after = FENCE.match(text, fence.end() + 1)
        shown = after.group("body").splitlines() if after and after["lang"] == "text" else []
        blocks.append(Block(fence.group("body"), shown))
    return blocks, files


def _pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("...")) + r"\Z")


def missing(shown: list[str], out: str) -> list[str]:
    """The lines of ``shown`` not found in ``out``, in order (one output line each)."""
    lines = out.splitlines()
    at, lost = 0, []
    for want in shown:
        pattern = _pattern(want)
        found = next((i for i in range(at, len(lines)) if pattern.match(lines[i])), None)
        if found is None:
            lost.append(want)
        else:
            at = found + 1
    return lost


def test_the_tour_parses_into_blocks_and_files() -> None:
    """Cheap: the page's marks are well formed (also without an engine's images)."""
    blocks, files = tour(TOUR.read_text())
    assert list(files) == ["test_reactor.py"]
    # the one block not run: the test builds the images itself and puts .venv/bin first
    assert "make images\n. .venv/bin/activate" in TOUR.read_text()
    assert len(blocks) >= 8 and blocks[-1].script.startswith("pytest")
    assert missing(["a...c", "d"], "x\nabc\nd\n") == []
    assert missing(["d", "abc"], "abc\nd\n") == ["abc"]  # order counts


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A user's shell on free ports: the stack labelled with a session and named by it."""
    ensure_images(log=lambda line: None)
    session = f"tour{uuid.uuid4().hex[:8]}"
    names = ("PUBLISH", "RET", "BUS_PUB", "BUS_PULL", "API", "CLOUD")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALTSIM_")}
    env |= {f"SALTSIM_{name}_PORT": str(port) for name, port in ports.items()}
    env |= {
        "SALTSIM_SESSION": session,
        "COMPOSE_PROJECT_NAME": session,
        "COMPOSE_FILE": str(compose_file()),
        "SALTSIM_BUS_CLIENT_KEY": str(tmp_path / "keys" / "bus-client.key"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "TOUR_API_PORT": str(ports["API"]),
    }
    yield env
    client = engine()
    try:
        _sweep(client, f"{SESSION_LABEL}={session}")
    finally:
        client.close()


def _script(blocks: list[Block], api_port: str) -> str:
    lines = ["set -e"]
    if compose_command() == ("docker-compose",):  # the page says `docker compose`
        lines.append(
            'docker() { if [ "$1" = compose ]; then shift; docker-compose "$@"; '
            'else command docker "$@"; fi; }'
        )
    for number, block in enumerate(blocks):
        lines.append(f"printf '\\n{BLOCK.format(number)}\\n'")  # after output without a newline
        lines.append(block.script.replace("127.0.0.1:8000", f"127.0.0.1:{api_port}"))
        if "compose down" in block.script:  # the test's own variables, as the page's unset
            lines.append("unset $(env | grep -o '^SALTSIM_[A-Z_]*_PORT')")
    return "\n".join(lines) + "\n"


def test_the_tour_runs_as_written(stack_env: dict[str, str], tmp_path: Path) -> None:
    blocks, files = tour(TOUR.read_text())
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    with subprocess.Popen(
        ["bash", "-c", _script(blocks, stack_env["TOUR_API_PORT"])],
        cwd=tmp_path,
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a watch that never matches is killed with its shell
    ) as shell:
        try:
            stdout, stderr = shell.communicate(timeout=TOUR_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            stdout, stderr = shell.communicate()
    parts = re.split(r"^@@tour-block (\d+)@@$", stdout, flags=re.M)
    outputs = {int(n): out for n, out in zip(parts[1::2], parts[2::2], strict=True)}
    ran = max(outputs, default=-1)
    assert shell.returncode == 0, (
        f"block {ran} failed (exit {shell.returncode}; -9: still running after "
        f"{TOUR_TIMEOUT}s):\n{blocks[ran].script}\n"
        f"stdout:\n{outputs.get(ran, stdout)}\nstderr:\n{stderr[-3000:]}"
    )
    assert ran == len(blocks) - 1
    for number, block in enumerate(blocks):
        lost = missing(block.shown, outputs[number])
        assert not lost, (
            f"block {number}:\n{block.script}\nshows lines its output lacks: {lost}\n"
            f"output:\n{outputs[number]}"
        )
