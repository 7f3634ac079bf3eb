"""The sandbox's authorization portal, oauth2/access_token/, issued tokens, bc/get/ and bc/asset/get/ (raw HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from auth_helpers import query_of

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.business import AGENCY_BC_ID, PARTNER_BC_ID

NY, AKL, HNL, TYO = (f"700000000000000000{i}" for i in range(1, 5))
APP = {"app_id": "4242424242", "secret": "sandbox-secret"}


class Raw:
    def __init__(self, http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.http, self.base = http, sandbox.base_url or ""

    async def portal(self, **query: str) -> tuple[int, str, str]:
        async with self.http.get(self.base + "/portal/auth", params=query, allow_redirects=False) as r:
            return r.status, r.headers.get("Location", ""), await r.text()

    async def code(self) -> str:
        status, location, _ = await self.portal(app_id="4242424242", redirect_uri="http://127.0.0.1:1/cb", state="s")
        assert status == 302
        return query_of(location)["auth_code"]

    async def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        url = self.base + "/open_api/v1.3/oauth2/access_token/"
        async with self.http.post(url, json=body, headers=headers or {}) as r:
            return await r.json()

    async def get(self, path: str, token: str = "sandbox-token", **params: Any) -> dict[str, Any]:  # noqa: S107
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        url = self.base + "/open_api/v1.3/" + path
        async with self.http.get(url, params=query, headers={"Access-Token": token}) as r:
            return await r.json()


@pytest.fixture
def raw(http: aiohttp.ClientSession, sandbox: Sandbox) -> Raw:
    return Raw(http, sandbox)


# ---- the portal -----------------------------------------------------------------------------------------------


async def test_portal_redirects_with_code_and_state(raw: Raw) -> None:
    status, location, _ = await raw.portal(
        app_id="4242424242", redirect_uri="http://127.0.0.1:9/callback?keep=1", state="abc/+="
    )
    assert status == 302 and location.startswith("http://127.0.0.1:9/callback?")
    query = query_of(location)
    assert query["keep"] == "1" and query["state"] == "abc/+="
    assert query["auth_code"] == query["code"] and len(query["auth_code"]) == 32


async def test_portal_without_state_adds_none(raw: Raw) -> None:
    _, location, _ = await raw.portal(app_id="4242424242", redirect_uri="https://example.com/cb")
    assert "state" not in query_of(location) and location.startswith("https://example.com/cb?auth_code=")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"app_id": "other-app", "redirect_uri": "http://127.0.0.1:9/cb"}, "app_id"),
        ({"redirect_uri": "http://127.0.0.1:9/cb"}, "app_id"),
        ({"app_id": "4242424242", "redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"app_id": "4242424242"}, "redirect_uri"),
    ],
)
async def test_portal_refuses_a_wrong_app_or_redirect(raw: Raw, query: dict[str, str], says: str) -> None:
    status, location, page = await raw.portal(**query)
    assert (status, location) == (400, "") and says in page


async def test_codes_are_deterministic() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    first, second = (Sandbox(SandboxSettings(), clock=clock) for _ in range(2))
    assert first.grants.issue_code([NY], 0) == second.grants.issue_code([NY], 0)
    assert first.issue_token() == second.issue_token()


# ---- oauth2/access_token/ -------------------------------------------------------------------------------------


async def test_exchange_needs_no_token_header_and_the_token_works(raw: Raw) -> None:
    answer = await raw.exchange({**APP, "auth_code": await raw.code()})
    assert answer["code"] == 0 and set(answer["data"]) == {"access_token", "advertiser_ids", "scope"}
    assert answer["data"]["advertiser_ids"] == [NY, AKL, HNL, TYO]
    token = answer["data"]["access_token"]
    listed = await raw.get("campaign/get/", token=token, advertiser_id=NY)
    assert listed["code"] == 0 and listed["data"]["list"]


async def test_a_code_is_single_use(raw: Raw) -> None:
    body = {**APP, "auth_code": await raw.code()}
    assert (await raw.exchange(body))["code"] == 0
    again = await raw.exchange(body)
    assert again["code"] == 40110 and again["data"] == {}


async def test_a_code_expires_after_an_hour_of_world_time(raw: Raw, clock: FrozenClock) -> None:
    late, in_time = await raw.code(), await raw.code()
    clock.advance(3599)
    assert (await raw.exchange({**APP, "auth_code": in_time}))["code"] == 0
    clock.advance(1)
    assert (await raw.exchange({**APP, "auth_code": late}))["code"] == 40110


async def test_wrong_app_credentials_are_40101_and_do_not_spend_the_code(raw: Raw) -> None:
    code = await raw.code()
    assert (await raw.exchange({**APP, "secret": "nope", "auth_code": code}))["code"] == 40101
    assert (await raw.exchange({**APP, "app_id": "nope", "auth_code": code}))["code"] == 40101
    assert (await raw.exchange({**APP, "auth_code": code}))["code"] == 0


@pytest.mark.parametrize("body", [{**APP}, {**APP, "auth_code": ""}, {"secret": "sandbox-secret", "auth_code": "x"}])
async def test_missing_fields_are_40002(raw: Raw, body: dict[str, str]) -> None:
    assert (await raw.exchange(body))["code"] == 40002


async def test_unknown_code_is_40110(raw: Raw) -> None:
    assert (await raw.exchange({**APP, "auth_code": "0" * 32}))["code"] == 40110


async def test_return_advertiser_ids_false(raw: Raw) -> None:
    answer = await raw.exchange({**APP, "auth_code": await raw.code(), "return_advertiser_ids": False})
    assert answer["data"]["advertiser_ids"] == [] and answer["data"]["access_token"]


# ---- issued tokens ----------------------------------------------------------------------------------------------


async def test_an_issued_token_reaches_only_its_advertisers(raw: Raw, sandbox: Sandbox) -> None:
    token = sandbox.issue_token([AKL])
    listed = await raw.get("oauth2/advertiser/get/", token=token, **APP)
    assert [a["advertiser_id"] for a in listed["data"]["list"]] == [AKL]
    assert (await raw.get("campaign/get/", token=token, advertiser_id=AKL))["code"] == 0
    assert (await raw.get("campaign/get/", token=token, advertiser_id=NY))["code"] == 40002
    assert (await raw.get("advertiser/info/", token=token, advertiser_ids=[AKL, NY]))["code"] == 40002


async def test_revoking_an_issued_token_leaves_the_configured_one(raw: Raw, sandbox: Sandbox) -> None:
    token = sandbox.issue_token()
    sandbox.grants.revoke(token)
    assert (await raw.get("campaign/get/", token=token, advertiser_id=NY))["code"] == 40105
    assert (await raw.get("campaign/get/", advertiser_id=NY))["code"] == 0
    sandbox.revoke_token()
    assert (await raw.get("campaign/get/", advertiser_id=NY))["code"] == 40105


# ---- bc/get/ and bc/asset/get/ ------------------------------------------------------------------------------------


async def test_bc_get_lists_the_business_centers(raw: Raw) -> None:
    answer = await raw.get("bc/get/", page_size="50")
    assert answer["code"] == 0
    first = answer["data"]["list"][0]
    assert first == {
        "bc_info": {
            "bc_id": AGENCY_BC_ID,
            "name": "Northwind Media Agency",
            "company": "Northwind Media Ltd.",
            "currency": "USD",
            "registered_area": "US",
            "status": "ENABLE",
            "timezone": "Etc/GMT+5",
            "type": "AGENCY",
        },
        "user_role": "ADMIN",
        "ext_user_role": {"finance_role": "MANAGER"},
    }
    assert answer["data"]["page_info"] == {"page": 1, "page_size": 50, "total_number": 2, "total_page": 1}
    only = await raw.get("bc/get/", bc_id=PARTNER_BC_ID)
    assert [b["bc_info"]["bc_id"] for b in only["data"]["list"]] == [PARTNER_BC_ID]


async def test_bc_page_size_is_at_most_50(raw: Raw) -> None:
    assert (await raw.get("bc/get/", page_size="51"))["code"] == 40002
    assert (await raw.get("bc/asset/get/", bc_id=AGENCY_BC_ID, asset_type="ADVERTISER", page_size="51"))[
        "code"
    ] == 40002


async def test_bc_asset_get_gives_each_advertiser_role(raw: Raw) -> None:
    answer = await raw.get("bc/asset/get/", bc_id=PARTNER_BC_ID, asset_type="ADVERTISER")
    assert answer["code"] == 0
    assert [(a["asset_id"], a["advertiser_role"]) for a in answer["data"]["list"]] == [
        (HNL, "ANALYST"),
        (TYO, "ANALYST"),
    ]
    assert answer["data"]["list"][1] == {
        "asset_id": TYO,
        "asset_name": "Sakura Cosmetics 株式会社",
        "asset_type": "ADVERTISER",
        "relation_type": "OWNER_PARTNER",
        "relation_status": "BOUND",
        "advertiser_status": "STATUS_ENABLE",
        "advertiser_account_type": "AUCTION",
        "advertiser_role": "ANALYST",
        "owner_bc_name": "Sakura Cosmetics 株式会社 BC",
    }


async def test_bc_asset_get_pages_and_filters(raw: Raw) -> None:
    second = await raw.get("bc/asset/get/", bc_id=AGENCY_BC_ID, asset_type="ADVERTISER", page="2", page_size="2")
    assert [a["asset_id"] for a in second["data"]["list"]] == [HNL]
    assert second["data"]["page_info"] == {"page": 2, "page_size": 2, "total_number": 3, "total_page": 2}
    kiwi = await raw.get("bc/asset/get/", bc_id=AGENCY_BC_ID, asset_type="ADVERTISER", filtering={"keyword": "kiwi"})
    assert [a["asset_id"] for a in kiwi["data"]["list"]] == [AKL]
    pixels = await raw.get("bc/asset/get/", bc_id=AGENCY_BC_ID, asset_type="PIXEL")
    assert pixels["code"] == 0 and pixels["data"]["list"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"asset_type": "ADVERTISER"},
        {"bc_id": AGENCY_BC_ID},
        {"bc_id": AGENCY_BC_ID, "asset_type": "SHOES"},
        {"bc_id": "7299999999999999999", "asset_type": "ADVERTISER"},
        {"bc_id": AGENCY_BC_ID, "asset_type": "ADVERTISER", "filtering": {"keyword": 3}},
    ],
)
async def test_bc_asset_get_parameter_errors_are_40002(raw: Raw, params: dict[str, Any]) -> None:
    assert (await raw.get("bc/asset/get/", **params))["code"] == 40002


async def test_business_centers_follow_the_token_reach(raw: Raw, sandbox: Sandbox) -> None:
    token = sandbox.issue_token([TYO])
    centers = await raw.get("bc/get/", token=token)
    assert [b["bc_info"]["bc_id"] for b in centers["data"]["list"]] == [PARTNER_BC_ID]
    assets = await raw.get("bc/asset/get/", token=token, bc_id=PARTNER_BC_ID, asset_type="ADVERTISER")
    assert [a["asset_id"] for a in assets["data"]["list"]] == [TYO]
    hidden = await raw.get("bc/asset/get/", token=token, bc_id=AGENCY_BC_ID, asset_type="ADVERTISER")
    assert hidden["code"] == 40002
