"""A simulated TikTok Business API v1.3 for tests, ``tiktok-monitor demo`` and benchmarks.

Built from the documented wire format (see the project's tiktok-api.md), not from our client: real paths with
trailing slashes, the ``{code, message, request_id, data}`` envelope, ``Access-Token`` auth, JSON-string GET
parameters, page-number pagination, the app-wide 10 QPS / 600 QPM limit, and a deterministic, time-driven
world whose spend accrues through each advertiser's local day under daily and lifetime budget caps.

Modules: settings (SandboxSettings), curve + localtime (time of day), catalog + entities + builder (the world),
ledger + spend (accrual), world (reads and writes), status (secondary_status), budgets (edit rules), metrics,
report_query + report (reports), params + call + render (request/response plumbing), api_* (endpoints),
grants (auth codes and issued tokens) + business (Business Centers and roles) for the /portal/auth flow,
state (SandboxState: what the server reads and changes), server (app, envelope, auth, faults), ratelimit,
faults, arrivals, tasks, admin (/sandbox/*), sandbox (Sandbox: the state, served).
"""

from __future__ import annotations

from monitor.sandbox.arrivals import Arrival
from monitor.sandbox.faults import Fault
from monitor.sandbox.sandbox import Sandbox, serve_forever
from monitor.sandbox.settings import LARGE_ADVERTISER_ID, SandboxSettings
from monitor.sandbox.world import World

__all__ = ["LARGE_ADVERTISER_ID", "Arrival", "Fault", "Sandbox", "SandboxSettings", "World", "serve_forever"]
