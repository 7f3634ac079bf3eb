"""The Change Log task flow: API writes (this app) and /sandbox/changes (a person, TikTok) with before/after."""

from __future__ import annotations

from sandbox_http import NY, Api

from monitor.sandbox import Sandbox

WINDOW = {"start_time": "2026-11-24 00:00:00", "end_time": "2026-11-25 23:59:59"}


async def _download(api: Api, **body: object) -> dict:
    created = await api.post("changelog/task/create/", {"advertiser_id": NY, **WINDOW, **body})
    assert created.code == 0, created.body
    task_id = created.data["task_id"]
    early = await api.get("changelog/task/download/", advertiser_id=NY, task_id=task_id)
    assert early.code == 40201
    first = await api.get("changelog/task/check/", advertiser_id=NY, task_id=task_id)
    assert first.data["status"] in ("PROCESSING", "SUCCESS")
    second = await api.get("changelog/task/check/", advertiser_id=NY, task_id=task_id)
    assert second.data["status"] == "SUCCESS"
    got = await api.get("changelog/task/download/", advertiser_id=NY, task_id=task_id)
    assert got.code == 0
    return got.data


async def test_the_change_log_tells_the_api_from_a_person_and_tiktok(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    other = sandbox.world.advertisers[NY].campaigns[1]
    body = {"advertiser_id": NY, "campaign_ids": [c.campaign_id], "operation_status": "DISABLE"}
    assert (await api.post("campaign/status/update/", body)).code == 0
    person = await api.admin("POST", "/sandbox/changes", {"entity_id": c.campaign_id, "operation_status": "ENABLE"})
    assert person.status == 200, person.text
    tiktok = {"entity_id": other.campaign_id, "operation_status": "DISABLE", "by": "tiktok"}
    assert (await api.admin("POST", "/sandbox/changes", tiktok)).status == 200

    data = await _download(api)
    rows = data["list"]
    assert data["total_count"] == 3 == len(rows)
    by_source = {r["source"]: r for r in rows}
    api_row = by_source["Marketing API"]
    assert api_row["app_id"] == sandbox.settings.app_id
    assert api_row["object_type"] == "CAMPAIGN" and api_row["object_id"] == c.campaign_id
    assert api_row["activity_details"] == [{"field": "operation_status", "before": "ENABLE", "after": "DISABLE"}]
    assert by_source["TikTok Ads Manager"]["app_id"] == ""
    assert "@" in by_source["TikTok Ads Manager"]["operator"]
    assert by_source["System"]["object_id"] == other.campaign_id

    only = await _download(api, object_ids=[other.campaign_id], module=["STATUS"])
    assert [r["object_id"] for r in only["list"]] == [other.campaign_id]


async def test_budget_changes_carry_before_and_after(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[2]  # BUDGET_MODE_INFINITE in the builder: any budget is fine
    before = c.budgets.at(sandbox.now()) or 0.0
    r = await api.admin("POST", "/sandbox/changes", {"entity_id": c.campaign_id, "budget": before + 50})
    assert r.status == 200
    data = await _download(api, module="BUDGET")
    [row] = data["list"]
    assert row["activity_details"] == [{"field": "budget", "before": f"{before:.2f}", "after": f"{before + 50:.2f}"}]


async def test_change_log_task_create_checks_its_parameters(api: Api) -> None:
    too_long = {"advertiser_id": NY, "start_time": "2026-10-01 00:00:00", "end_time": "2026-11-25 00:00:00"}
    assert (await api.post("changelog/task/create/", too_long)).code == 40002
    bad_module = {"advertiser_id": NY, **WINDOW, "module": ["SPEND"]}
    assert (await api.post("changelog/task/create/", bad_module)).code == 40002
    unknown = await api.get("changelog/task/check/", advertiser_id=NY, task_id="7500000000000000099")
    assert unknown.code == 40002
