"""``auth login`` end to end: the sandbox's portal redirects a stand-in browser to the loopback server."""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable

import pytest
from auth_helpers import Browser, query_of, with_query

from monitor.auth import AuthFlowError, authorization_url, load_token, login, new_state, save_token
from monitor.sandbox import Sandbox
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import PermanentApiError

APP_ID = "4242424242"
NY, TYO = "7000000000000000001", "7000000000000000004"


async def run_login(sandbox: Sandbox, app_client: Callable[[], TikTokClient], browser: Browser, **kw: object):
    return await login(
        app_client,
        app_id=APP_ID,
        open_browser=browser,
        timeout=kw.pop("timeout", 10.0),  # type: ignore[arg-type]
        base=sandbox.base_url,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_authorization_url_carries_app_redirect_and_state() -> None:
    url = authorization_url("123", "http://127.0.0.1:8765/callback", "s t&x")
    assert url.startswith("https://business-api.tiktok.com/portal/auth?")
    assert query_of(url) == {"app_id": "123", "redirect_uri": "http://127.0.0.1:8765/callback", "state": "s t&x"}
    assert authorization_url("1", "http://x/cb", "s", base="http://127.0.0.1:9/").startswith(
        "http://127.0.0.1:9/portal"
    )


def test_states_are_long_and_fresh() -> None:
    states = {new_state() for _ in range(50)}
    assert len(states) == 50 and all(len(s) >= 40 for s in states)


async def test_login_against_the_sandbox_then_the_stored_token_reads_campaigns(
    sandbox: Sandbox,
    app_client: Callable[[], TikTokClient],
    make_client: Callable[..., TikTokClient],
    browser: Browser,
    tmp_path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    grant = await run_login(sandbox, app_client, browser)

    token = grant.access_token.get_secret_value()
    assert token and token != sandbox.settings.token
    assert set(grant.advertiser_ids) == set(sandbox.world.advertisers) and grant.scope
    code = query_of(browser.redirect or "")["auth_code"]
    assert browser.pages[0][0] == 200 and "authorized for 4 advertiser(s)" in browser.pages[0][1]
    assert code not in browser.pages[0][1] and token not in browser.pages[0][1]

    path = save_token(tmp_path / "state" / "access_token", grant.access_token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    client = make_client(token=load_token(path).get_secret_value())
    campaigns = await client.campaigns(NY)
    assert campaigns and all(c.advertiser_id == NY for c in campaigns)
    assert [a.path for a in sandbox.arrivals] == ["oauth2/access_token/", "campaign/get/"]

    for secret in (token, code):
        assert secret not in caplog.text
        assert secret not in repr(grant) and secret not in str(grant)


async def test_login_grants_only_what_the_advertiser_authorized(
    sandbox: Sandbox, app_client: Callable[[], TikTokClient], make_client: Callable[..., TikTokClient], browser: Browser
) -> None:
    sandbox.portal_advertiser_ids = (TYO,)
    grant = await run_login(sandbox, app_client, browser)
    assert grant.advertiser_ids == (TYO,)
    client = make_client(token=grant.access_token.get_secret_value())
    assert [a.id for a in await client.advertisers()] == [TYO]
    with pytest.raises(PermanentApiError) as refused:
        await client.campaigns(NY)
    assert refused.value.code == 40002


@pytest.mark.parametrize("state", ["forged-state", None, ""])
async def test_a_forged_or_missing_state_is_refused_and_nothing_is_exchanged(
    sandbox: Sandbox, app_client: Callable[[], TikTokClient], browser: Browser, state: str | None
) -> None:
    browser.tamper = lambda url: with_query(url, state=state)
    with pytest.raises(AuthFlowError, match="missing or wrong state") as refused:
        await run_login(sandbox, app_client, browser)
    code = query_of(browser.redirect or "")["auth_code"]
    assert code not in str(refused.value)
    status, page = browser.pages[0]
    assert status == 400 and "refused" in page and code not in page
    assert "oauth2/access_token/" not in [a.path for a in sandbox.arrivals]


async def test_a_redirect_without_code_says_so(
    sandbox: Sandbox, app_client: Callable[[], TikTokClient], browser: Browser
) -> None:
    browser.tamper = lambda url: with_query(url, auth_code=None, code=None, error="access_denied")
    with pytest.raises(AuthFlowError, match="declined"):
        await run_login(sandbox, app_client, browser)
    assert browser.pages[0][0] == 400


async def test_a_used_code_is_refused_with_40110_and_never_quoted(
    sandbox: Sandbox, app_client: Callable[[], TikTokClient], browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    grant = await run_login(sandbox, app_client, browser)
    code = query_of(browser.redirect or "")["auth_code"]
    with pytest.raises(PermanentApiError) as reused:
        await app_client().exchange_auth_code(code)
    assert reused.value.code == 40110
    for secret in (code, grant.access_token.get_secret_value()):
        assert secret not in str(reused.value) and secret not in caplog.text


async def test_an_exchange_refused_by_tiktok_fails_login_and_tells_the_browser(
    sandbox: Sandbox, make_client: Callable[..., TikTokClient], browser: Browser
) -> None:
    wrong_secret = lambda: make_client(token="", secret="not-the-secret")  # noqa: E731
    with pytest.raises(PermanentApiError) as refused:
        await run_login(sandbox, wrong_secret, browser)
    assert refused.value.code == 40101 and "not-the-secret" not in str(refused.value)
    assert browser.pages[0][0] == 502 and "refused" in browser.pages[0][1]


async def test_no_answer_within_the_timeout(sandbox: Sandbox, app_client: Callable[[], TikTokClient]) -> None:
    shown: list[str] = []
    with pytest.raises(AuthFlowError, match=r"within 0\.2 s"):
        await login(app_client, app_id=APP_ID, open_browser=shown.append, timeout=0.2, base=sandbox.base_url)
    assert len(shown) == 1 and query_of(shown[0])["redirect_uri"].startswith("http://127.0.0.1:")


async def test_a_browser_that_cannot_open_the_page_ends_the_flow(
    sandbox: Sandbox, app_client: Callable[[], TikTokClient]
) -> None:
    async def broken(url: str) -> None:
        raise ConnectionError("no route")

    with pytest.raises(AuthFlowError, match="opening the authorization page failed"):
        await login(app_client, app_id=APP_ID, open_browser=broken, timeout=5, base=sandbox.base_url)


async def test_a_busy_port_is_a_clear_error(sandbox: Sandbox, app_client: Callable[[], TikTokClient]) -> None:
    async with sandbox.serve(port=0) as other:
        port = int(other.rsplit(":", 1)[1])
        with pytest.raises(AuthFlowError, match="choose another --port"):
            await login(app_client, app_id=APP_ID, port=port, open_browser=None, timeout=1, base=sandbox.base_url)
