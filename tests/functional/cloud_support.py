"""Helpers of the cloud runner tests: a small provider speaking the cloud-sim contract (v1).

``FakeCloud`` serves the contract from a thread of the test process (aiohttp, its own
loop), keeps instances in memory and, on deploy, starts the VM's minion as a process
of a ``LocalTestbed`` with the key pair the master sent. It implements what the
runner uses: create, describe, list, deploy, delete, and count-based faults.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import secrets
import threading
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from saltsim.testbed.local import LocalTestbed

__all__ = ["FAULT_KINDS", "FakeCloud", "ProviderView"]

FAULT_KINDS = ("quota", "create_error", "stuck_pending", "lost_during_boot")
_Json = dict[str, Any]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class FakeCloud:
    """``url = cloud.start()`` ... ``cloud.close()``; set ``cloud.bed`` before deploys."""

    def __init__(self, workdir: Path, provision_delay: float = 0.3, shutdown_delay: float = 0.2):
        self.workdir = workdir
        self.provision_delay, self.shutdown_delay = provision_delay, shutdown_delay
        self.bed: LocalTestbed | None = None
        self.instances: dict[str, _Json] = {}
        self.faults: list[_Json] = []
        self.fail_deploys = 0  # not in the contract: the next N deploys answer 500
        self._ips = itertools.count(10)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self.url = future.result(10)
        return self.url

    async def _serve(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/instances", self._create)
        app.router.add_get("/v1/instances", self._list)
        app.router.add_get("/v1/instances/{id}", self._get)
        app.router.add_post("/v1/instances/{id}/deploy", self._deploy)
        app.router.add_delete("/v1/instances/{id}", self._delete)
        app.router.add_post("/v1/faults", self._fault)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        if self._runner is not None:
            runner = self._runner
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # -- handlers -------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = body.get("name")
        if not all(isinstance(body.get(k), str) for k in ("name", "image", "size")):
            return _error(400, "BadRequest", "name, image and size are required strings")
        if any(i["name"] == name and not _gone(i) for i in self.instances.values()):
            return _error(409, "NameInUse", f"an instance named {name} exists")
        kind = self._take_fault()
        if kind == "quota":
            return _error(403, "QuotaExceeded", "instance quota exceeded (injected)")
        if kind == "create_error":
            return _error(500, "InternalError", "create failed (injected)")
        instance = {
            "id": f"i-{secrets.token_hex(4)}",
            "name": name,
            "image": body["image"],
            "size": body["size"],
            "state": "pending",
            "private_ip": None,
            "launch_time": dt.datetime.now(dt.UTC).isoformat(),
            "state_reason": None,
        }
        self.instances[instance["id"]] = instance
        if kind != "stuck_pending":
            lost = kind == "lost_during_boot"
            asyncio.get_running_loop().call_later(self.provision_delay, self._boot, instance, lost)
        return web.json_response({"instance": instance}, status=201)

    def _take_fault(self) -> str | None:
        for fault in self.faults:
            if fault["count"] > 0:
                fault["count"] -= 1
                return str(fault["kind"])
        return None

    def _boot(self, instance: _Json, lost: bool) -> None:
        if instance["state"] != "pending":
            return
        if lost:
            instance.update(state="terminated", state_reason="lost during boot")
        else:
            instance.update(state="running", private_ip=f"10.254.0.{next(self._ips)}")

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"instances": list(self.instances.values())})

    def _find(self, request: web.Request) -> _Json | None:
        return self.instances.get(request.match_info["id"])

    async def _get(self, request: web.Request) -> web.Response:
        instance = self._find(request)
        if instance is None:
            return _error(404, "NotFound", f"no instance {request.match_info['id']}")
        return web.json_response({"instance": instance})

    async def _deploy(self, request: web.Request) -> web.Response:
        instance, body = self._find(request), await request.json()
        if instance is None:
            return _error(404, "NotFound", f"no instance {request.match_info['id']}")
        if instance["state"] != "running":
            return _error(409, "InvalidState", f"instance is {instance['state']}")
        if self.fail_deploys > 0:
            self.fail_deploys -= 1
            return _error(500, "InternalError", "deploy script failed (injected fault)")
        assert self.bed is not None, "FakeCloud.bed is not set"
        pki = self.workdir / instance["id"] / "pki"
        pki.mkdir(parents=True, mode=0o700)
        if body.get("pem"):
            # 0600, as a deploy script leaves it: a minion refuses a looser private key
            # (it could have been planted)
            pem = os.open(pki / "minion.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(pem, "w") as handle:
                handle.write(body["pem"])
            (pki / "minion.pub").write_text(body["pub"])
        options = {"master": body["master"], "master_port": body["master_port"]}
        options.update(body.get("options") or {})
        start = self.bed.add_minion
        await asyncio.to_thread(
            start, body["minion_id"], name=instance["id"], pki_dir=str(pki), **options
        )
        instance["minion"] = instance["id"]
        return web.json_response({"instance": instance, "minion": instance["id"]})

    async def _delete(self, request: web.Request) -> web.Response:
        instance = self._find(request)
        if instance is None:
            return _error(404, "NotFound", f"no instance {request.match_info['id']}")
        if not _gone(instance):
            instance["state"] = "shutting-down"
            asyncio.get_running_loop().call_later(
                self.shutdown_delay, lambda: asyncio.ensure_future(self._terminate(instance))
            )
        return web.json_response({"instance": instance}, status=202)

    async def _terminate(self, instance: _Json) -> None:
        if instance.get("minion") and self.bed is not None:
            await asyncio.to_thread(self.bed.stop_minion, instance["minion"])
        instance["state"] = "terminated"

    async def _fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("kind") not in FAULT_KINDS or not isinstance(body.get("count"), int):
            return _error(400, "BadRequest", f"kind one of {FAULT_KINDS} and a count")
        fault = {"kind": body["kind"], "count": body["count"]}
        self.faults.append(fault)
        return web.json_response({"fault": fault}, status=201)


def _gone(instance: _Json) -> bool:
    return instance["state"] in ("shutting-down", "terminated")


class ProviderView:
    """A provider as the tests see it from the host, through its HTTP API (the fake's or
    cloud-sim's alike): instances and faults."""

    def __init__(self, url: str) -> None:
        self.url = url

    def instances(self) -> list[_Json]:
        reply = httpx.get(f"{self.url}/v1/instances", timeout=30)
        reply.raise_for_status()
        instances: list[_Json] = reply.json()["instances"]
        return instances

    def live(self) -> list[_Json]:
        """Instances neither shutting down nor terminated."""
        return [i for i in self.instances() if not _gone(i)]

    def inject(self, kind: str, count: int = 1) -> None:
        reply = httpx.post(f"{self.url}/v1/faults", json={"kind": kind, "count": count}, timeout=30)
        assert reply.status_code == 201, reply.text
