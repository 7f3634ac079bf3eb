"""Fault injection: every kind, path matching, counts, and the HTTP admin endpoint."""

from __future__ import annotations

import time

import aiohttp
import pytest
from sandbox_http import NY, Api

from monitor.sandbox import Fault, Sandbox


async def test_http_error_consumes_count_on_matching_path_only(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="http_error", status=500, count=2, path="campaign/get/"))
    assert (await api.get("adgroup/get/", advertiser_id=NY)).code == 0  # other path: untouched
    for _ in range(2):
        r = await api.get("campaign/get/", advertiser_id=NY)
        assert r.status == 500 and r.body is None and "500" in r.text
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0
    statuses = [(a.path, a.code, a.http_status) for a in sandbox.arrivals]
    assert statuses[1:3] == [("campaign/get/", None, 500)] * 2


async def test_api_code_fault_answers_an_envelope(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="api_code", code=40100))
    sandbox.faults.add(Fault(kind="api_code", code=51010, message="downstream timeout"))
    first = await api.get("ad/get/", advertiser_id=NY)
    assert (first.status, first.code, first.data) == (200, 40100, {})
    assert "[4242424242]" in first.body["message"] and first.body["request_id"]
    second = await api.get("ad/get/", advertiser_id=NY)
    assert (second.code, second.body["message"]) == (51010, "downstream timeout")
    assert [a.code for a in sandbox.arrivals] == [40100, 51010]


async def test_slow_fault_delays_then_answers_normally(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="slow", delay=0.3))
    started = time.monotonic()
    r = await api.get("campaign/get/", advertiser_id=NY)
    assert r.code == 0 and time.monotonic() - started >= 0.3


async def test_html_fault_is_a_200_html_page(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="html"))
    r = await api.get("campaign/get/", advertiser_id=NY)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html") and r.body is None
    assert "<html>" in r.text


async def test_disconnect_fault_closes_without_an_answer(api: Api, sandbox: Sandbox) -> None:
    # aiohttp's client retries an idempotent request once when the connection drops before any answer, so a
    # GET needs count=2 to fail; a POST is not retried.
    sandbox.faults.add(Fault(kind="disconnect", path="report/integrated/get/", count=2))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get("report/integrated/get/", advertiser_id=NY)
    assert [(a.code, a.http_status) for a in sandbox.arrivals] == [(None, None)] * 2
    sandbox.faults.add(Fault(kind="disconnect", path="campaign/status/update/"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.post("campaign/status/update/", {"advertiser_id": NY})
    assert len(sandbox.arrivals) == 3
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0  # the server is fine


async def test_faults_apply_before_auth_and_not_to_unknown_paths(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="http_error", status=503))
    assert (await api.get("campaign/get", advertiser_id=NY)).status == 404
    assert (await api.get("campaign/get/", advertiser_id=NY, headers={})).status == 503


async def test_faults_over_http_admin(api: Api, sandbox: Sandbox) -> None:
    added = await api.admin("POST", "/sandbox/faults", {"kind": "http_error", "status": 502, "path": "ad/get/"})
    assert added.status == 200 and added.body["fault"]["status"] == 502
    assert (await api.get("ad/get/", advertiser_id=NY)).status == 502
    bad = await api.admin("POST", "/sandbox/faults", {"kind": "meteor"})
    assert bad.status == 400 and "kind" in bad.body["error"]
    assert (await api.admin("POST", "/sandbox/faults", {"kind": "slow", "colour": 1})).status == 400


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="count"):
        Fault(kind="http_error", count=0)
    with pytest.raises(ValueError, match="status"):
        Fault(kind="http_error", status=700)
    assert Fault(kind="slow", path="/open_api/v1.3/ad/get/").path == "ad/get/"


async def test_patch_fault_changes_the_real_answer(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(
        Fault(
            kind="patch",
            path="campaign/get/",
            patch=[
                {"op": "replace", "path": "/data/page_info/total_page", "value": 1000000},
                {"op": "replace", "path": "/data/list/0/advertiser_id", "value": True},
                {"op": "add", "path": "/data/extra", "value": {"a": [1]}},
            ],
        )
    )
    normal = await api.get("campaign/get/", advertiser_id=NY, page_size="2")
    sandbox.faults.add(Fault(kind="patch", patch=[{"op": "remove", "path": "/data/list"}]))
    patched_list = await api.get("campaign/get/", advertiser_id=NY, page_size="2")
    assert normal.data["page_info"]["total_page"] == 1000000
    assert normal.data["list"][0]["advertiser_id"] is True and normal.data["list"][1]["advertiser_id"] == NY
    assert normal.data["extra"] == {"a": [1]} and normal.code == 0 and normal.body["request_id"]
    assert "list" not in patched_list.data and "page_info" in patched_list.data
    sandbox.faults.add(Fault(kind="patch", patch=[{"op": "replace", "path": "/data", "value": [1, 2, 3]}]))
    assert (await api.get("ad/get/", advertiser_id=NY)).data == [1, 2, 3]
    assert (await api.get("ad/get/", advertiser_id=NY)).data["list"]  # consumed: normal again
    assert [a.code for a in sandbox.arrivals] == [0, 0, 0, 0]


async def test_patch_fault_that_does_not_apply_answers_500(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="patch", patch=[{"op": "replace", "path": "/data/nothing/here", "value": 1}]))
    r = await api.get("campaign/get/", advertiser_id=NY)
    assert r.status == 500 and "/data/nothing/here" in r.text


async def test_a_fault_for_one_advertiser_leaves_the_others_alone(api: Api, sandbox: Sandbox) -> None:
    other = next(a for a in sandbox.world.advertisers if a != NY)
    sandbox.faults.add(Fault(kind="api_code", code=50000, advertiser_id=NY))
    assert (await api.get("campaign/get/", advertiser_id=other)).code == 0
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 50000


async def test_patch_fault_over_http_admin(api: Api, sandbox: Sandbox) -> None:
    patch = [{"op": "remove", "path": "/data/page_info"}]
    added = await api.admin("POST", "/sandbox/faults", {"kind": "patch", "path": "ad/get/", "patch": patch})
    assert added.status == 200 and added.body["fault"]["patch"] == patch
    assert "page_info" not in (await api.get("ad/get/", advertiser_id=NY)).data
    for bad in ({"kind": "patch"}, {"kind": "slow", "patch": patch}, {"kind": "patch", "patch": [{"op": "move"}]}):
        assert (await api.admin("POST", "/sandbox/faults", bad)).status == 400
