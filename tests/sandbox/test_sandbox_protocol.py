"""The wire protocol: envelope, request ids, auth, paths, methods, parameter encoding, rate limit, admin."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import cast

from aiohttp import web
from sandbox_http import NY, Api

from monitor.sandbox import Sandbox
from monitor.sandbox.admin import add_admin_routes
from monitor.sandbox.state import SandboxState


async def test_envelope_has_code_message_request_id_and_data(api: Api, sandbox: Sandbox) -> None:
    assert sandbox.base_url == api.base_url and api.base_url.startswith("http://127.0.0.1:")
    r = await api.get("campaign/get/", advertiser_id=NY)
    assert r.status == 200
    assert set(r.body) == {"code", "message", "request_id", "data"}
    assert (r.code, r.body["message"]) == (0, "OK")
    assert re.fullmatch(r"20261124213000\d{12}", r.body["request_id"])
    assert r.headers["X-Tt-Logid"] == r.body["request_id"]


async def test_every_response_gets_a_fresh_request_id_also_on_errors(api: Api) -> None:
    replies = [await api.get("campaign/get/", advertiser_id=NY) for _ in range(3)]
    replies.append(await api.get("campaign/get/", advertiser_id=NY, headers={}))
    ids = [r.body["request_id"] for r in replies]
    assert len(set(ids)) == 4
    assert replies[-1].code == 40104 and replies[-1].data == {}


async def test_missing_token_is_40104_and_names_the_header(api: Api) -> None:
    r = await api.get("campaign/get/", advertiser_id=NY, headers={})
    assert (r.status, r.code) == (200, 40104)
    assert "Access-Token" in r.body["message"]


async def test_bearer_authorization_alone_counts_as_missing(api: Api) -> None:
    r = await api.get("campaign/get/", advertiser_id=NY, headers={"Authorization": "Bearer sandbox-token"})
    assert r.code == 40104


async def test_wrong_token_is_40105(api: Api) -> None:
    r = await api.get("campaign/get/", advertiser_id=NY, headers={"Access-Token": "nope"})
    assert r.code == 40105 and r.data == {}


async def test_revoked_token_is_40105_until_restored(api: Api, sandbox: Sandbox) -> None:
    sandbox.revoke_token()
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 40105
    sandbox.restore_token()
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0


async def test_path_without_trailing_slash_is_http_404(api: Api) -> None:
    r = await api.get("campaign/get", advertiser_id=NY)
    assert r.status == 404
    assert (await api.get("campaign/nothing/", advertiser_id=NY)).status == 404


async def test_wrong_method_is_http_405(api: Api) -> None:
    assert (await api.post("campaign/get/", {"advertiser_id": NY})).status == 405
    assert (await api.get("campaign/status/update/", advertiser_id=NY)).status == 405


async def test_json_string_parameters_and_invalid_json_names_the_parameter(api: Api) -> None:
    ok = await api.get("campaign/get/", advertiser_id=NY, fields='["campaign_id"]')
    assert ok.code == 0 and set(ok.data["list"][0]) == {"campaign_id"}
    bad = await api.get("campaign/get/", advertiser_id=NY, fields="[campaign_id")
    assert bad.code == 40002 and "fields" in bad.body["message"]
    bad = await api.get("campaign/get/", advertiser_id=NY, filtering="{oops")
    assert bad.code == 40002 and "filtering" in bad.body["message"]


async def test_missing_or_unknown_advertiser_is_40002(api: Api) -> None:
    assert (await api.get("campaign/get/")).code == 40002
    r = await api.get("campaign/get/", advertiser_id="7000000000000000777")
    assert r.code == 40002 and "7000000000000000777" in r.body["message"]


async def test_post_needs_a_json_body(api: Api) -> None:
    body = f'{{"advertiser_id": "{NY}", "campaign_ids": ["1"], "operation_status": "DISABLE"}}'
    r = await api.post(
        "campaign/status/update/", data=body, headers={"Access-Token": "sandbox-token", "Content-Type": "text/plain"}
    )
    assert r.code == 40002 and "application/json" in r.body["message"]
    r = await api.post(
        "campaign/status/update/",
        data="{not json",
        headers={"Access-Token": "sandbox-token", "Content-Type": "application/json"},
    )
    assert r.code == 40002


async def test_qps_limit_answers_40100_past_ten_in_a_second(make_sandbox, serve) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(qps=10)
    api = await serve(sb)
    replies = await asyncio.gather(*(api.get("campaign/get/", advertiser_id=NY) for _ in range(15)))
    codes = sorted(r.code for r in replies)
    assert codes == [0] * 10 + [40100] * 5
    limited = next(r for r in replies if r.code == 40100)
    assert limited.body["message"] == (
        "Due to too many requests, requests from App [4242424242] are temporarily restricted."
    )
    assert [a.code for a in sb.arrivals].count(40100) == 5
    await asyncio.sleep(1.05)
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0


async def test_qpm_limit_counts_accepted_requests_over_a_minute(make_sandbox, serve) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(qps=100, qpm=5)
    api = await serve(sb)
    codes = [(await api.get("campaign/get/", advertiser_id=NY)).code for _ in range(7)]
    assert codes == [0] * 5 + [40100] * 2


async def test_admin_paths_need_no_token_and_are_neither_limited_nor_logged(make_sandbox, serve) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(qps=1)
    api = await serve(sb)
    for _ in range(3):
        assert (await api.admin("GET", "/sandbox/arrivals")).status == 200
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0
    log = (await api.admin("GET", "/sandbox/arrivals")).body
    assert len(log) == 1
    assert log[0]["path"] == "campaign/get/" and log[0]["advertiser_id"] == NY
    assert log[0]["code"] == 0 and log[0]["http_status"] == 200


async def test_admin_revoke_restore_and_reset(api: Api, sandbox: Sandbox) -> None:
    assert (await api.admin("POST", "/sandbox/revoke")).status == 200
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 40105
    await api.admin("POST", "/sandbox/restore")
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0
    await api.admin("POST", "/sandbox/faults", {"kind": "api_code", "code": 50000, "count": 5})
    assert len(sandbox.faults.pending) == 1
    await api.admin("POST", "/sandbox/reset")
    assert sandbox.faults.pending == [] and sandbox.arrivals == []


async def test_restore_and_reset_answer_as_the_readme_says(api: Api, sandbox: Sandbox) -> None:
    """README's table: restore answers revoked false; reset answers ok and keeps the world and a revoked token."""
    assert (await api.admin("POST", "/sandbox/revoke")).body == {"ok": True, "revoked": True}
    assert (await api.admin("POST", "/sandbox/reset")).body == {"ok": True}
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 40105  # reset does not restore the token
    assert (await api.admin("POST", "/sandbox/restore")).body == {"ok": True, "revoked": False}
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0


def test_readme_documents_every_control_endpoint() -> None:
    app = web.Application()
    add_admin_routes(app, cast("SandboxState", None))
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("The control endpoints") : readme.index("Fault kinds:")]
    documented = set(re.findall(r"^\| `(GET|POST) (/sandbox/[^`]*)` \|", table, re.MULTILINE))
    assert documented == {(method, path) for method, path in routes if method != "HEAD"}


async def test_arrivals_record_order_codes_and_real_time(api: Api, sandbox: Sandbox) -> None:
    await api.get("campaign/get/", advertiser_id=NY)
    await api.get("campaign/get", advertiser_id=NY)
    await api.post(
        "campaign/status/update/", {"advertiser_id": NY, "campaign_ids": ["1"], "operation_status": "DISABLE"}
    )
    first, second, third = sandbox.arrivals
    assert (first.method, first.path, first.code, first.http_status) == ("GET", "campaign/get/", 0, 200)
    assert (second.path, second.code, second.http_status) == ("campaign/get", None, 404)
    assert (third.method, third.advertiser_id, third.code) == ("POST", NY, 40002)
    assert first.t <= second.t <= third.t and first.t > 0  # real monotonic time, the world clock is frozen


async def test_oauth2_advertiser_get_checks_app_credentials(api: Api) -> None:
    ok = await api.get("oauth2/advertiser/get/", app_id="4242424242", secret="sandbox-secret")
    assert ok.code == 0
    assert [a["advertiser_id"] for a in ok.data["list"]] == [f"700000000000000000{i}" for i in range(1, 5)]
    assert set(ok.data) == {"list"}  # not paginated
    bad = await api.get("oauth2/advertiser/get/", app_id="4242424242", secret="wrong")
    assert bad.code == 40101


async def test_advertiser_info_time_zones_and_unknown_ids(api: Api) -> None:
    ids = [f"700000000000000000{i}" for i in range(1, 5)]
    r = await api.get("advertiser/info/", advertiser_ids=ids)
    assert r.code == 0
    by_id = {a["advertiser_id"]: a for a in r.data["list"]}
    assert by_id[ids[1]]["display_timezone"] == "Pacific/Auckland"
    assert by_id[ids[2]]["timezone"] == "Etc/GMT+10"
    assert by_id[ids[3]]["currency"] == "JPY"
    assert all(a["status"] == "STATUS_ENABLE" and isinstance(a["create_time"], int) for a in by_id.values())
    narrow = await api.get("advertiser/info/", advertiser_ids=[ids[0]], fields=["currency", "display_timezone"])
    assert narrow.data["list"] == [{"currency": "USD", "display_timezone": "America/New_York"}]
    unknown = await api.get("advertiser/info/", advertiser_ids=[ids[0], "7000000000000000555"])
    assert unknown.code == 40002 and "7000000000000000555" in unknown.body["message"]
    assert (await api.get("advertiser/info/", advertiser_ids=ids, fields=["nope"])).code == 40002
