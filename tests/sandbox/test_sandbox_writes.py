"""Status and budget writes: shapes, validation, partial success, and when changes take effect."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox_http import NY, TYO, Api

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox


async def test_campaign_status_update_answers_the_documented_shape(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[1]
    r = await api.post(
        "campaign/status/update/", {"advertiser_id": NY, "campaign_ids": [c.campaign_id], "operation_status": "DISABLE"}
    )
    assert r.code == 0
    assert r.data == {
        "campaign_ids": [c.campaign_id],
        "status": "DISABLE",
        "campaign_list": [{"campaign_id": c.campaign_id, "status": "DISABLE", "postback_window_mode": None}],
    }
    got = await api.get(
        "campaign/get/",
        advertiser_id=NY,
        filtering={"campaign_ids": [c.campaign_id]},
        fields=["operation_status", "secondary_status", "modify_time"],
    )
    assert got.data["list"] == [
        {
            "operation_status": "DISABLE",
            "secondary_status": "CAMPAIGN_STATUS_DISABLE",
            "modify_time": "2026-11-24 21:30:00",
        }
    ]


async def test_status_update_validates_ids_and_status(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    base = {"advertiser_id": NY, "operation_status": "DISABLE"}
    for ids in ([], [str(10**18 + i) for i in range(21)]):
        r = await api.post("campaign/status/update/", {**base, "campaign_ids": ids})
        assert r.code == 40002 and "campaign_ids" in r.body["message"]
    r = await api.post("campaign/status/update/", {**base, "campaign_ids": [c.campaign_id, "1234"]})
    assert r.code == 40002 and "1234" in r.body["message"]
    assert sandbox.world.operation_status(c, sandbox.now()) == "ENABLE"  # all or nothing
    r = await api.post(
        "campaign/status/update/", {"advertiser_id": NY, "campaign_ids": [c.campaign_id], "opt_status": "DISABLE"}
    )  # the v1.2 name
    assert r.code == 40002 and "operation_status" in r.body["message"]
    r = await api.post(
        "campaign/status/update/", {**base, "campaign_ids": [c.campaign_id], "operation_status": "PAUSE"}
    )
    assert r.code == 40002


async def test_adgroup_partial_success_reports_an_error_list(api: Api, sandbox: Sandbox) -> None:
    g = sandbox.world.advertisers[NY].campaigns[0].adgroups[0]
    body = {"advertiser_id": NY, "adgroup_ids": [g.adgroup_id, "999"], "operation_status": "DISABLE"}
    strict = await api.post("adgroup/status/update/", body)
    assert strict.code == 40002
    r = await api.post("adgroup/status/update/", {**body, "allow_partial_success": True})
    assert r.code == 20001
    assert r.data["adgroup_ids"] == [g.adgroup_id] and r.data["status"] == "DISABLE"
    assert [e["adgroup_id"] for e in r.data["error_list"]] == ["999"]
    assert sandbox.world.secondary_status(g, sandbox.now()) == "ADGROUP_STATUS_DISABLE"


async def test_ad_status_update_needs_exactly_one_id_list(api: Api) -> None:
    r = await api.post("ad/status/update/", {"advertiser_id": NY, "operation_status": "DISABLE"})
    assert r.code == 40002


async def test_campaign_budget_checks_minimum_105_percent_and_lock_window(
    api: Api, sandbox: Sandbox, clock: FrozenClock
) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]  # daily budget, about 508 USD spent today at start
    body = {"advertiser_id": NY, "campaign_id": c.campaign_id}
    low = await api.post("campaign/update/", {**body, "budget": 49})
    assert low.code == 40002 and "50.00 USD" in low.body["message"]
    spent_so_far = await api.post("campaign/update/", {**body, "budget": 520})
    assert spent_so_far.code == 40002 and "105%" in spent_so_far.body["message"]
    ok = await api.post("campaign/update/", {**body, "budget": 600, "campaign_name": "Renamed"})
    assert ok.code == 0 and ok.data["budget"] == 600.0 and ok.data["campaign_name"] == "Renamed"
    clock.set(datetime(2026, 11, 25, 4, 57, tzinfo=UTC))  # 23:57 in New York
    locked = await api.post("campaign/update/", {**body, "budget": 2000})
    assert locked.code == 40002 and "23:55" in locked.body["message"]
    clock.advance(240)  # 00:01, a new local day: nothing spent yet
    assert (await api.post("campaign/update/", {**body, "budget": 60})).code == 0


async def test_lifetime_budget_checks_against_lifetime_spend(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[1]  # BUDGET_MODE_TOTAL
    spent = sandbox.world.spend_lifetime(c, sandbox.now())
    r = await api.post(
        "campaign/update/", {"advertiser_id": NY, "campaign_id": c.campaign_id, "budget": round(spent * 1.02)}
    )
    assert r.code == 40002 and "since the start" in r.body["message"]
    infinite = sandbox.world.advertisers[NY].campaigns[2]
    r = await api.post("campaign/update/", {"advertiser_id": NY, "campaign_id": infinite.campaign_id, "budget": 500})
    assert r.code == 40002 and "INFINITE" in r.body["message"]


async def test_jpy_budgets_are_whole_and_scaled_by_the_currency_ratio(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[TYO].campaigns[0]
    spent = sandbox.world.spend_today(c, sandbox.now())
    body = {"advertiser_id": TYO, "campaign_id": c.campaign_id}
    frac = await api.post("campaign/update/", {**body, "budget": round(spent * 2) + 0.5})
    assert frac.code == 40002 and "whole" in frac.body["message"]
    r = await api.post("campaign/update/", {**body, "budget": 4999})
    assert r.code == 40002 and "5000 JPY" in r.body["message"]


async def test_scheduled_budget_takes_effect_at_the_next_local_midnight(
    api: Api, sandbox: Sandbox, clock: FrozenClock
) -> None:
    g = sandbox.world.advertisers[NY].campaigns[1].adgroups[0]  # TOTAL: lifetime, immediate
    daily = sandbox.world.advertisers[NY].campaigns[2].adgroups[0]  # DAY mode
    old = daily.budgets.at(sandbox.now())
    r = await api.post(
        "adgroup/budget/update/",
        {"advertiser_id": NY, "scheduled_budget": [{"adgroup_id": daily.adgroup_id, "scheduled_budget": old + 100}]},
    )
    assert (r.code, r.data) == (0, {})
    fields = ["adgroup_id", "budget", "modify_time"]
    got = await api.get("adgroup/get/", advertiser_id=NY, filtering={"adgroup_ids": [daily.adgroup_id]}, fields=fields)
    assert got.data["list"][0]["budget"] == old  # still today's budget
    assert got.data["list"][0]["modify_time"] == "2026-11-24 21:30:00"
    clock.set(datetime(2026, 11, 25, 4, 59, tzinfo=UTC))  # 23:59 New York
    got = await api.get("adgroup/get/", advertiser_id=NY, filtering={"adgroup_ids": [daily.adgroup_id]}, fields=fields)
    assert got.data["list"][0]["budget"] == old
    clock.set(datetime(2026, 11, 25, 5, 0, 1, tzinfo=UTC))  # 00:00:01 New York
    got = await api.get("adgroup/get/", advertiser_id=NY, filtering={"adgroup_ids": [daily.adgroup_id]}, fields=fields)
    assert got.data["list"][0]["budget"] == old + 100
    lifetime_new = g.budgets.at(sandbox.now()) + 1000
    r = await api.post(
        "adgroup/budget/update/",
        {"advertiser_id": NY, "budget": [{"adgroup_id": g.adgroup_id, "budget": lifetime_new}]},
    )
    assert r.code == 0
    got = await api.get("adgroup/get/", advertiser_id=NY, filtering={"adgroup_ids": [g.adgroup_id]}, fields=fields)
    assert got.data["list"][0]["budget"] == lifetime_new  # lifetime budgets apply at once


async def test_adgroup_budget_update_rejects_wrong_mode_limits_and_low_values(api: Api, sandbox: Sandbox) -> None:
    daily = sandbox.world.advertisers[NY].campaigns[0].adgroups[0]
    lifetime = sandbox.world.advertisers[NY].campaigns[1].adgroups[0]
    r = await api.post(
        "adgroup/budget/update/", {"advertiser_id": NY, "budget": [{"adgroup_id": daily.adgroup_id, "budget": 5000}]}
    )
    assert r.code == 40002 and "scheduled_budget" in r.body["message"]
    r = await api.post(
        "adgroup/budget/update/",
        {"advertiser_id": NY, "scheduled_budget": [{"adgroup_id": daily.adgroup_id, "scheduled_budget": 19}]},
    )
    assert r.code == 40002 and "20.00 USD" in r.body["message"]
    r = await api.post(
        "adgroup/budget/update/", {"advertiser_id": NY, "budget": [{"adgroup_id": lifetime.adgroup_id, "budget": 100}]}
    )
    assert r.code == 40002 and "lifetime" in r.body["message"]
    many = [{"adgroup_id": str(10**18 + i), "scheduled_budget": 100} for i in range(21)]
    assert (await api.post("adgroup/budget/update/", {"advertiser_id": NY, "scheduled_budget": many})).code == 40002
    assert (await api.post("adgroup/budget/update/", {"advertiser_id": NY})).code == 40002
