"""Roles per advertiser (pure), the ``auth advertisers`` table, and both against the sandbox's Business Centers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from monitor.auth import AdvertiserRow, Role, list_advertisers, parse_role, render_advertisers, roles
from monitor.clock import FrozenClock
from monitor.sandbox import Fault, Sandbox, SandboxSettings
from monitor.sandbox.business import AGENCY_BC_ID, ANALYST_ONLY_ADVERTISER_ID, PARTNER_BC_ID
from monitor.sandbox.settings import LARGE_ADVERTISER_ID
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import AdvertiserRef, BcAdvertiser

NY, AKL, HNL, TYO = (f"700000000000000000{i}" for i in range(1, 5))


def asset(advertiser_id: str, role: str | None, bc: str = "1") -> BcAdvertiser:
    return BcAdvertiser(advertiser_id, "x", role, bc)


@pytest.mark.parametrize(
    ("assets", "expected"),
    [
        ([], Role.DIRECT),
        ([asset("a", "ADMIN")], Role.ADMIN),
        ([asset("a", "OPERATOR")], Role.OPERATOR),
        ([asset("a", "ANALYST")], Role.ANALYST),
        ([asset("a", "ANALYST", "1"), asset("a", "OPERATOR", "2")], Role.OPERATOR),
        ([asset("a", "ADMIN", "1"), asset("a", "ANALYST", "2")], Role.ADMIN),
        ([asset("a", "SUPERVISOR")], Role.ANALYST),  # unknown: least privilege
        ([asset("a", None)], Role.ANALYST),
        ([asset("b", "ADMIN")], Role.DIRECT),  # someone else's role
    ],
)
def test_role_of_one_advertiser(assets: list[BcAdvertiser], expected: Role) -> None:
    assert roles(["a"], assets) == {"a": expected}


def test_roles_keep_the_order_of_the_advertisers_and_ignore_unreached_assets() -> None:
    refs = [AdvertiserRef("2", "b"), AdvertiserRef("1", "a")]
    got = roles(refs, [asset("1", "analyst"), asset("9", "ADMIN")])
    assert list(got.items()) == [("2", Role.DIRECT), ("1", Role.ANALYST)]


def test_only_analysts_cannot_write() -> None:
    assert [r for r in Role if not r.can_write] == [Role.ANALYST]
    assert parse_role("DIRECT") is Role.ANALYST  # not a BC role: never trusted from the API


ENABLED = ("STATUS_ENABLE", "ADMIN")


def test_table_aligns_wide_names_and_explains_analysts() -> None:
    rows = [
        AdvertiserRow(NY, "Acme\nOutdoor", "America/New_York", "USD", "STATUS_ENABLE", Role.ADMIN),
        AdvertiserRow(TYO, "Sakura 株式会社", "Asia/Tokyo", "JPY", None, Role.ANALYST),
    ]
    lines = render_advertisers(rows).splitlines()
    header = ["ADVERTISER", "ID", "NAME", "TIME", "ZONE", "CURRENCY", "MIN", "BUDGET", "STATUS", "ROLE"]
    assert lines[0].split() == header
    assert lines[1].split() == [NY, "Acme", "Outdoor", "America/New_York", "USD", "50.00", "/", "20.00", *ENABLED]
    assert lines[2].split() == [TYO, "Sakura", "株式会社", "Asia/Tokyo", "JPY", "5,000", "/", "2,000", "-", "ANALYST"]
    # "株式会社" is 8 columns wide: the time zone column starts at the same display column in every line
    assert lines[1].index("America") == lines[0].index("TIME") == lines[2].index("Asia") + 4
    assert lines[-1].startswith("1 advertiser(s) with role ANALYST: read-only")


def test_table_shows_the_minimum_budgets_and_where_tiktok_decides() -> None:
    rows = [
        AdvertiserRow(NY, "Acme", "America/New_York", "USD", "STATUS_ENABLE", Role.ADMIN),
        AdvertiserRow(AKL, "Kiwi", "Pacific/Auckland", "NZD", "STATUS_ENABLE", Role.ADMIN),
        AdvertiserRow(HNL, "Rio", "America/Sao_Paulo", "BRL", "STATUS_ENABLE", Role.ADMIN),
    ]
    lines = render_advertisers(rows, {"BRL": (250.0, 100.0)}).splitlines()
    assert lines[2].split()[3:7] == ["NZD", "TikTok", "decides", "STATUS_ENABLE"]
    assert lines[3].split()[3:7] == ["BRL", "250.00", "/", "100.00"]
    assert lines[-1] == (
        "TikTok decides (NZD): the monitor knows no minimum there; a budget change is sent and TikTok's answer "
        "decides. Set [actions] min_budget to check before sending."
    )
    assert "TikTok decides (" not in render_advertisers(rows[:1])


def test_table_of_nothing_says_what_to_do() -> None:
    assert "auth login" in render_advertisers([])


async def test_sandbox_roles_make_one_advertiser_analyst_only(make_client: Callable[..., TikTokClient]) -> None:
    rows = await list_advertisers(make_client())
    assert [(r.id, r.role) for r in rows] == [
        (NY, Role.ADMIN),
        (AKL, Role.OPERATOR),
        (HNL, Role.OPERATOR),  # ANALYST in Pacific Partners, OPERATOR through the agency
        (TYO, Role.ANALYST),
    ]
    assert ANALYST_ONLY_ADVERTISER_ID == TYO
    akl = rows[1]
    assert (akl.name, akl.timezone, akl.currency, akl.status) == (
        "Kiwi Coffee Roasters",
        "Pacific/Auckland",
        "NZD",
        "STATUS_ENABLE",
    )
    table = render_advertisers(rows)
    assert "Kiwi Coffee Roasters" in table and "1 advertiser(s) with role ANALYST" in table


async def test_roles_from_chosen_business_centers_only(make_client: Callable[..., TikTokClient]) -> None:
    rows = await list_advertisers(make_client(), bc_ids=[PARTNER_BC_ID])
    assert {r.id: r.role for r in rows} == {NY: Role.DIRECT, AKL: Role.DIRECT, HNL: Role.ANALYST, TYO: Role.ANALYST}


async def test_a_token_for_some_advertisers_lists_only_those(
    sandbox: Sandbox, make_client: Callable[..., TikTokClient]
) -> None:
    token = sandbox.issue_token([AKL, TYO])
    rows = await list_advertisers(make_client(token=token))
    assert [(r.id, r.role) for r in rows] == [(AKL, Role.OPERATOR), (TYO, Role.ANALYST)]


async def test_without_business_center_access_roles_are_direct(
    sandbox: Sandbox, make_client: Callable[..., TikTokClient], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.add(Fault(kind="api_code", code=40001, message="No permission.", path="bc/get/"))
    rows = await list_advertisers(make_client())
    assert {r.role for r in rows} == {Role.DIRECT}
    assert "Business Center roles unavailable" in caplog.text


def test_benchmark_advertiser_joins_the_agency() -> None:
    sb = Sandbox(SandboxSettings(large_ads=5), clock=FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    agency = next(bc for bc in sb.business_centers if bc.bc_id == AGENCY_BC_ID)
    assert (LARGE_ADVERTISER_ID, "ADMIN") in agency.assets
