"""Out-of-process control of a running sandbox (no token, not rate limited, not logged as arrivals):

* ``POST /sandbox/faults``   JSON body with :class:`Fault` fields → ``{"ok": true, "fault": {...}}``
  (HTTP 400 ``{"error": ...}`` when invalid); ``GET /sandbox/faults`` lists pending faults;
* ``POST /sandbox/revoke`` / ``POST /sandbox/restore``  revoke / restore the token (``{"ok": true, "revoked": ...}``);
* ``GET /sandbox/arrivals``  the request log as a JSON list of :class:`Arrival` objects;
* ``POST /sandbox/reset``    clear faults and arrivals (and the rate limiter's windows) → ``{"ok": true}``; the world
  and a revoked token stay as they are;
* ``GET /sandbox/reports/{task_id}``  the CSV of a CSV_DOWNLOAD async report task;
* ``POST /sandbox/spend``   ``{"ad_id": ..., "amount": 500}``: the ad spends that much more now, beyond its budget
  (:mod:`monitor.sandbox.surges`) → ``{"ok": true, "at": <world epoch seconds>}``;
* ``GET /sandbox/webhooks``  every REPORT_DATA_CHANGE delivery attempt (:mod:`monitor.sandbox.subscriptions`);
* ``POST /sandbox/changes``  a status or budget change made by a person or by TikTok, logged in the change log
  (:func:`monitor.sandbox.changelog.add_changes_route`).

README.md documents each in a table (a test keeps the two in step).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from monitor.sandbox.changelog import add_changes_route
from monitor.sandbox.entities import Ad
from monitor.sandbox.faults import Fault

if TYPE_CHECKING:
    from monitor.sandbox.state import SandboxState


def add_admin_routes(app: web.Application, sandbox: SandboxState) -> None:
    async def add_fault(request: web.Request) -> web.Response:
        try:
            fault = Fault.from_json(json.loads(await request.read() or b"null"))
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        sandbox.faults.add(fault)
        return web.json_response({"ok": True, "fault": fault.as_dict()})

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response([f.as_dict() for f in sandbox.faults.pending])

    async def revoke(request: web.Request) -> web.Response:
        sandbox.revoke_token()
        return web.json_response({"ok": True, "revoked": True})

    async def restore(request: web.Request) -> web.Response:
        sandbox.restore_token()
        return web.json_response({"ok": True, "revoked": False})

    async def arrivals(request: web.Request) -> web.Response:
        return web.json_response([a.as_dict() for a in sandbox.arrivals])

    async def reset(request: web.Request) -> web.Response:
        sandbox.reset()
        return web.json_response({"ok": True})

    async def report_file(request: web.Request) -> web.Response:
        task = sandbox.tasks.by_id(request.match_info["task_id"])
        if task is None or task.output_format != "CSV_DOWNLOAD" or task.status != "SUCCESS":
            raise web.HTTPNotFound(text="no such report file")
        return web.Response(
            text=task.csv_text,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{task.file_name}.csv"'},
        )

    async def spend(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"null")
            ad = sandbox.world.find(str(body["ad_id"])) if isinstance(body, dict) and "ad_id" in body else None
            if not isinstance(ad, Ad):
                raise ValueError("ad_id: no such ad")
            amount = body.get("amount")
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise ValueError("amount: expected a positive number")
            now = sandbox.now()
            sandbox.world.add_surge(ad, float(amount), now)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, "at": now})

    async def webhooks(request: web.Request) -> web.Response:
        return web.json_response([d.as_dict() for d in sandbox.subscriptions.deliveries])

    app.router.add_post("/sandbox/faults", add_fault)
    app.router.add_get("/sandbox/faults", list_faults)
    app.router.add_post("/sandbox/revoke", revoke)
    app.router.add_post("/sandbox/restore", restore)
    app.router.add_get("/sandbox/arrivals", arrivals)
    app.router.add_post("/sandbox/reset", reset)
    app.router.add_get("/sandbox/reports/{task_id}", report_file)
    app.router.add_post("/sandbox/spend", spend)
    app.router.add_get("/sandbox/webhooks", webhooks)
    add_changes_route(app, sandbox)
