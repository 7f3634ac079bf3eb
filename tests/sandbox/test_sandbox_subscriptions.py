"""REPORT_DATA_CHANGE in the sandbox: subscription/subscribe|get|unsubscribe (app credentials, validated), injected
spend (/sandbox/spend) in reports, and notices POSTed to the callback at most once per window, retried with the
same body until a 200."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from sandbox_http import NY, TOKEN, Api

from monitor.sandbox import Sandbox

APP = {"app_id": "4242424242", "secret": "sandbox-secret"}


class Callback:
    """A webhook receiver on loopback: answers ``statuses`` in turn (then 200), keeps each body."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.url = ""
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.raw.append(raw)
        self.bodies.append(json.loads(raw))
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def callback() -> AsyncIterator[Callable[..., Any]]:
    runners: list[web.AppRunner] = []

    async def start(statuses: list[int] | None = None) -> Callback:
        cb = Callback(statuses)
        app = web.Application()
        app.router.add_post("/hook", cb.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        cb.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        return cb

    yield start
    for runner in runners:
        await runner.cleanup()


def subscribe_body(url: str, **detail: Any) -> dict[str, Any]:
    return {
        **APP,
        "subscribe_entity": "REPORT_DATA_CHANGE",
        "callback_url": url,
        "subscription_detail": {"access_token": TOKEN, "advertiser_ids": [NY], **detail},
    }


async def test_subscribe_get_and_unsubscribe(api: Api) -> None:
    made = await api.post("subscription/subscribe/", subscribe_body("https://example.com/h"), headers={})
    assert made.code == 0, made.body
    sid = made.data["subscription_id"]
    listed = await api.get("subscription/get/", headers={}, **APP)
    assert listed.data["list"] == [
        {
            "subscription_id": sid,
            "subscribe_entity": "REPORT_DATA_CHANGE",
            "callback_url": "https://example.com/h",
            "subscription_detail": {"advertiser_ids": [NY], "notify_frequency": "5_MINUTE"},
        }
    ]
    assert TOKEN not in listed.text  # the token is never answered back
    gone = await api.post("subscription/unsubscribe/", {**APP, "subscription_id": sid}, headers={})
    assert gone.code == 0 and gone.data == {"subscription_id": sid}
    assert (await api.get("subscription/get/", headers={}, **APP)).data["list"] == []
    again = await api.post("subscription/unsubscribe/", {**APP, "subscription_id": sid}, headers={})
    assert again.code == 40002


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "wrong"}, 40101),
        ({"subscribe_entity": "AD_GROUP"}, 40002),
        ({"callback_url": "not a url"}, 40002),
        ({"subscription_detail": {"access_token": "nope", "advertiser_ids": [NY]}}, 40105),
        ({"subscription_detail": {"access_token": TOKEN, "advertiser_ids": ["123"]}}, 40002),
        (
            {"subscription_detail": {"access_token": TOKEN, "advertiser_ids": [NY], "notify_frequency": "1_MINUTE"}},
            40002,
        ),
    ],
)
async def test_subscribe_refuses_what_tiktok_refuses(api: Api, change: dict[str, Any], code: int) -> None:
    body = {**subscribe_body("https://example.com/h"), **change}
    assert (await api.post("subscription/subscribe/", body, headers={})).code == code


async def test_injected_spend_shows_in_reports_of_every_level(api: Api, sandbox: Sandbox) -> None:
    ad = sandbox.world.advertisers[NY].campaigns[0].adgroups[0].ads[0]

    async def spend(level: str) -> float:
        r = await api.get(
            "report/integrated/get/",
            advertiser_id=NY,
            report_type="BASIC",
            data_level=level,
            dimensions=["advertiser_id"] if level == "AUCTION_ADVERTISER" else ["ad_id"],
            metrics=["spend"],
            start_date="2026-11-24",
            end_date="2026-11-24",
            page_size=1000,
        )
        assert r.code == 0, r.body
        rows = r.data["list"]
        if level == "AUCTION_AD":
            rows = [row for row in rows if row["dimensions"]["ad_id"] == ad.ad_id]
        return sum(float(row["metrics"]["spend"]) for row in rows)

    before = {level: await spend(level) for level in ("AUCTION_AD", "AUCTION_ADVERTISER")}
    r = await api.admin("POST", "/sandbox/spend", {"ad_id": ad.ad_id, "amount": 500})
    assert r.status == 200 and r.body["ok"]
    sandbox.clock.advance(1)  # type: ignore[attr-defined]  # a report covers what was spent before now
    for level, spent in before.items():
        assert await spend(level) == pytest.approx(spent + 500, abs=0.5)  # + one second of delivery
    bad = await api.admin("POST", "/sandbox/spend", {"ad_id": ad.ad_id, "amount": -1})
    assert bad.status == 400
    assert (await api.admin("POST", "/sandbox/spend", {"ad_id": "1", "amount": 5})).status == 400


async def test_a_spend_change_is_notified_once_per_window_and_retried(
    make_sandbox: Callable[..., Sandbox], serve: Callable[[Sandbox], Any], callback: Callable[..., Any]
) -> None:
    sandbox = make_sandbox(webhook_window=1.0, webhook_backoff=0.1)
    api = await serve(sandbox)
    cb = await callback(statuses=[500])  # the first attempt fails: retried with the same body
    assert (await api.post("subscription/subscribe/", subscribe_body(cb.url), headers={})).code == 0
    await asyncio.sleep(0.5)  # the first reading: nothing changed yet (the world clock is frozen)
    assert cb.bodies == []
    ad = sandbox.world.advertisers[NY].campaigns[0].adgroups[0].ads[0]
    await api.admin("POST", "/sandbox/spend", {"ad_id": ad.ad_id, "amount": 100})
    async with asyncio.timeout(5):
        while len(cb.bodies) < 2:  # noqa: ASYNC110 - waiting for the retry
            await asyncio.sleep(0.05)
    assert cb.raw[0] == cb.raw[1]
    body = cb.bodies[0]
    assert body["object"] == 11
    [entry] = body["entry"]
    assert list(entry["changed_metrics_values"]) == [NY]
    assert set(entry["changed_metrics_values"][NY]) >= {"date", "spend", "impressions", "clicks"}
    # a second change within the window waits for the window; then one notice with the new values
    await api.admin("POST", "/sandbox/spend", {"ad_id": ad.ad_id, "amount": 50})
    await asyncio.sleep(0.3)
    assert len(cb.bodies) == 2
    async with asyncio.timeout(5):
        while len(cb.bodies) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    first = float(body["entry"][0]["changed_metrics_values"][NY]["spend"])
    third = float(cb.bodies[2]["entry"][0]["changed_metrics_values"][NY]["spend"])
    assert third == pytest.approx(first + 50, abs=0.02)
    attempts = (await api.admin("GET", "/sandbox/webhooks")).body
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 200), (1, 200)]
