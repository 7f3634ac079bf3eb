"""The status page in process (aiohttp's test server, a real SQLite store): who may look (nobody asked on the
loopback, a token, basic-auth users), CSRF on every form, names from TikTok escaped, and changes recorded with who
made them. The browser test is test_page_browser.py."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.actions.base import GuardSettings
from monitor.clock import FrozenClock
from monitor.config import PageSettings, load_settings
from monitor.domain import Level, Matcher, Silence
from monitor.domain.approvals import Approval, ApprovalState, PlannedChange
from monitor.health import host_middleware
from monitor.page.app import Page, add_routes
from monitor.page.auth import COOKIE, Authenticator
from monitor.page.csrf import Csrf, key_from_secrets
from monitor.page.serve import page_server, shares_health
from monitor.page.view import Sources
from monitor.steering import Steering
from monitor.store.repo import Store
from monitor.store.values import ActionIntent, ActionStatus
from monitor.tiktok.models import AdvertiserInfo

ADV = "7000000000000000001"
HOSTILE = "<script>alert(1)</script>\u202eevil\nline"


async def no_client(advertiser_id: str):
    raise AssertionError(f"no client wanted for {advertiser_id}")


@pytest.fixture
async def store(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", clock=clock)
    yield store
    await store.close()


@pytest.fixture
async def serve(store: Store, clock: FrozenClock) -> AsyncIterator[Callable[..., Awaitable[TestClient]]]:
    """An aiohttp test client of a page with the given Authenticator."""
    clients: list[TestClient] = []

    async def make(auth: Authenticator | None = None) -> TestClient:
        page = Page(
            sources=Sources(store, timedelta(minutes=5), GuardSettings(), configured=(ADV,)),
            steering=Steering(store, clock, GuardSettings(), no_client),
            clock=clock,
            auth=auth or Authenticator(),
            csrf=Csrf(),
        )
        app = web.Application(middlewares=[host_middleware()])
        add_routes(app, page)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def local(serve) -> TestClient:
    return await serve()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_on_the_loopback_without_auth_the_page_shows_names_escaped(local: TestClient, store, clock) -> None:
    await store.upsert_advertisers([AdvertiserInfo(ADV, HOSTILE, "STATUS_ENABLE", "USD", "UTC")], clock.now())
    await store.silences.add(
        Silence((Matcher("rule", "r"),), clock.now(), clock.now() + timedelta(hours=1), "alice", HOSTILE), clock.now()
    )
    intent = ActionIntent(ADV, Level.CAMPAIGN, "1800", "pause", HOSTILE, {"operation_status": "ENABLE"})
    entry = await store.journal.begin(intent, clock.now())
    await store.journal.finish(entry.id, clock.now(), ActionStatus.SUCCEEDED, after={"operation_status": "DISABLE"})
    response = await local.get("/")
    html = await response.text()
    assert response.status == 200, html
    assert "page:local" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html.split('<h2 id="silences">')[0]  # the advertiser's name through display_name
    assert f'action="/journal/{entry.id}/revert"' in html  # a real write that succeeded: offered for revert
    assert "ENABLE -&gt; DISABLE" in html
    assert f"https://ads.tiktok.com/i18n/perf/campaign?aadvid={ADV}&amp;keyword=1800" in html
    assert '<meta http-equiv="refresh" content="30">' in html
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


async def test_a_silence_is_made_with_the_forms_token_and_recorded_with_who(local: TestClient, store, clock) -> None:
    token = csrf_of(await (await local.get("/")).text())
    form = {"matchers": "rule=spending name~'Summer *'", "duration": "2h", "comment": "launch", "csrf": token}
    response = await local.post("/silences", data=form)
    html = await response.text()
    assert response.status == 200, html
    (made,) = await store.silences.active(clock.now())
    assert made.created_by == "page:local" and made.comment == "launch"
    assert made.matchers == (Matcher("rule", "spending"), Matcher("name", "Summer *", is_glob=True))
    assert made.ends_at - made.starts_at == timedelta(hours=2)
    assert f"silence #{made.id}" in html and '<meta http-equiv="refresh" content="30;url=/">' in html
    # the per-alert form's hidden matchers
    more = {"matcher": ["rule=x", f"advertiser={ADV}"], "duration": "1h", "csrf": csrf_of(html)}
    response = await local.post(
        "/silences", data=[(k, v) for k, vs in more.items() for v in ([vs] if isinstance(vs, str) else vs)]
    )
    assert response.status == 200
    expire = await local.post(f"/silences/{made.id}/expire", data={"csrf": csrf_of(await response.text())})
    assert expire.status == 200 and f"silence #{made.id} expired by page:local" in await expire.text()
    assert [s.id for s in await store.silences.active(clock.now())] == [made.id + 1]
    ended = await store.silences.get(made.id)
    assert ended is not None and ended.expired_by == "page:local"


async def test_forms_without_a_valid_token_or_from_another_origin_are_refused(local: TestClient, store, clock) -> None:
    token = csrf_of(await (await local.get("/")).text())
    form = {"matchers": "rule=spending", "duration": "2h"}
    assert (await local.post("/silences", data=form)).status == 403  # no token
    assert (await local.post("/silences", data={**form, "csrf": token + "0"})).status == 403
    assert (await local.post("/silences", data={**form, "csrf": Csrf().issue("page:local", clock.now())})).status == 403
    evil = {"Origin": "http://evil.example"}
    assert (await local.post("/silences", data={**form, "csrf": token}, headers=evil)).status == 403
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert (await local.post("/silences", data={**form, "csrf": token}, headers=cross)).status == 403
    assert (await local.get("/", headers={"Host": "rebound.example"})).status == 421  # DNS rebinding
    assert await store.silences.active(clock.now()) == []
    clock.advance(13 * 3600)  # older than MAX_AGE
    assert (await local.post("/silences", data={**form, "csrf": token})).status == 403
    same = {"Origin": str(local.make_url("")).rstrip("/")}
    response = await local.post(
        "/silences", data={**form, "csrf": csrf_of(await (await local.get("/")).text())}, headers=same
    )
    assert response.status == 200
    bad = await local.post(
        "/silences", data={"matchers": "colour=red", "duration": "2h", "csrf": csrf_of(await response.text())}
    )
    assert bad.status == 400 and "unknown matcher" in await bad.text()


@pytest.mark.parametrize(
    "route", ["/silences", "/silences/1/expire", "/journal/1/revert", "/approvals/1-1/approve", "/approvals/1-1/reject"]
)
async def test_every_change_is_refused_without_the_forms_token_or_from_another_origin(local: TestClient, route) -> None:
    token = csrf_of(await (await local.get("/")).text())
    assert (await local.post(route, data={})).status == 403
    assert (await local.post(route, data={"csrf": token + "0"})).status == 403
    assert (await local.post(route, data={"csrf": token}, headers={"Origin": "http://evil.example"})).status == 403


def test_replicas_configured_alike_accept_each_others_forms(clock) -> None:
    """Behind a load balancer a form made by one replica is posted to another: the key comes from the secrets."""
    one, two = Csrf(key_from_secrets(["s3cret", "pw"])), Csrf(key_from_secrets(["pw", "s3cret"]))
    token = one.issue("page:alice", clock.now())
    assert two.valid(token, "page:alice", clock.now()) and not two.valid(token, "page:bob", clock.now())
    assert not Csrf(key_from_secrets(["other"])).valid(token, "page:alice", clock.now())
    assert key_from_secrets([]) is None and b"s3cret" not in (key_from_secrets(["s3cret"]) or b"")


async def test_an_id_past_what_the_database_holds_is_not_found_not_an_error(local: TestClient) -> None:
    token = csrf_of(await (await local.get("/")).text())
    for route in ("/silences/99999999999999999999/expire", "/journal/99999999999999999999/revert"):
        assert (await local.post(route, data={"csrf": token})).status == 404


async def test_a_token_logs_in_with_a_cookie_that_is_not_the_token(serve, store, clock) -> None:
    client = await serve(Authenticator(token="s3cret-token"))
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    wrong = await client.post("/login", data={"token": "nope"}, allow_redirects=False)
    assert wrong.status == 401 and COOKIE not in wrong.cookies
    assert (await client.get("/", headers={"Authorization": "Bearer s3cret-token"})).status == 200
    right = await client.post("/login", data={"token": "s3cret-token"}, allow_redirects=False)
    assert right.status == 303
    cookie = right.cookies[COOKIE]
    assert "s3cret-token" not in cookie.value and cookie["httponly"] and cookie["samesite"] == "Strict"
    page = await client.get("/")  # the cookie jar sends it
    html = await page.text()
    assert page.status == 200 and "page:token" in html and "s3cret-token" not in html
    response = await client.post("/silences", data={"matchers": "rule=r", "duration": "1h", "csrf": csrf_of(html)})
    assert response.status == 200
    assert [s.created_by for s in await store.silences.active(clock.now())] == ["page:token"]


async def test_basic_auth_users_are_who_made_the_change(serve, store, clock) -> None:
    client = await serve(Authenticator(users={"alice": "wonder", "bob": "builder"}))
    response = await client.get("/")
    assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Basic ")
    assert (await client.get("/", headers=basic("alice", "builder"))).status == 401
    assert (await client.get("/", headers=basic("carol", "wonder"))).status == 401
    html = await (await client.get("/", headers=basic("alice", "wonder"))).text()
    assert "page:alice" in html
    form = {"matchers": "rule=r", "duration": "1h", "csrf": csrf_of(html)}
    # a form made for alice is not bob's
    assert (await client.post("/silences", data=form, headers=basic("bob", "builder"))).status == 403
    assert (await client.post("/silences", data=form)).status == 401
    assert (await client.post("/silences", data=form, headers=basic("alice", "wonder"))).status == 200
    assert [s.created_by for s in await store.silences.active(clock.now())] == ["page:alice"]


async def test_a_revert_of_an_unknown_entry_says_so(local: TestClient) -> None:
    token = csrf_of(await (await local.get("/")).text())
    response = await local.post("/journal/9/revert", data={"csrf": token})
    assert response.status == 400 and "there is no journal entry #9" in await response.text()


async def test_the_page_on_a_listener_of_its_own(tmp_path: Path, store, clock) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\naccess_token = "t"\nadvertiser_ids = ["{ADV}"]\n[page]\nenabled = true\nlisten = "127.0.0.1:0"\n'
    )
    settings = load_settings(config, env={})
    assert not shares_health(settings)
    assert shares_health(load_settings(config, env={}).model_copy(update={"page": PageSettings(enabled=True)}))
    page = Page(
        sources=Sources(store, timedelta(minutes=5), GuardSettings()),
        steering=Steering(store, clock, GuardSettings(), no_client),
        clock=clock,
        auth=Authenticator(),
        csrf=Csrf(),
    )
    async with page_server(settings, page) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/") as response:
            assert response.status == 200 and "page:local" in await response.text()
        async with http.get(f"{server.url}/healthz") as response:
            assert response.status == 404  # /healthz stays on the health listener
        async with http.get(f"{server.url}/", headers={"Host": "rebound.example"}) as response:
            assert response.status == 421


async def test_pending_approvals_are_listed_and_rejected_with_who(local: TestClient, store, clock) -> None:
    html = await (await local.get("/")).text()
    assert "No action waits for approval." in html and "approval-row" not in html
    waiting = Approval(
        id="7-1",
        advertiser_id=ADV,
        rule="overspend",
        level=Level.CAMPAIGN,
        entity_id="1800",
        entity_name=HOSTILE,
        change=PlannedChange("pause", before={"operation_status": "ENABLE"}),
        reason={"spend": 120.5},
        requested_at=clock.now(),
        expires_at=clock.now() + timedelta(minutes=30),
    )
    async with store.poll(ADV, clock.now()) as poll:
        poll.save_approvals([waiting])
    html = await (await local.get("/")).text()
    assert 'data-id="7-1"' in html and "<script>" not in html and "120.5" in html
    assert 'action="/approvals/7-1/approve"' in html and 'action="/approvals/7-1/reject"' in html
    response = await local.post("/approvals/7-1/reject", data={"csrf": csrf_of(html)})
    text = await response.text()
    assert response.status == 200, text
    decided = await store.approvals.get("7-1")
    assert decided is not None and (decided.state, decided.decided_by) == (ApprovalState.REJECTED, "page:local")
    assert 'data-id="7-1"' not in text  # no longer waiting
    again = await local.post("/approvals/7-1/reject", data={"csrf": csrf_of(text)})
    assert again.status == 400 and "already rejected by page:local" in await again.text()
    unknown = await local.post("/approvals/7-9/approve", data={"csrf": csrf_of(text)})
    assert unknown.status == 400 and "there is no approval #7-9" in await unknown.text()
