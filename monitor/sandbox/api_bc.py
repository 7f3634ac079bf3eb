"""bc/get/ and bc/asset/get/ (tiktok-api.md §2.4; shapes as bububa/tiktok-business ``model/bc``).

``bc/get/``: optional ``bc_id``, ``page``, ``page_size`` (1-50, default 10) → ``data.list[]`` of
``{bc_info: {bc_id, name, company, currency, registered_area, status, timezone, type}, user_role,
ext_user_role: {finance_role}}`` and ``page_info``. A BC is listed when the token reaches one of its advertisers.

``bc/asset/get/``: required ``bc_id`` and ``asset_type`` (ADVERTISER, CATALOG, TIKTOK_SHOP, PIXEL, LEAD,
TT_ACCOUNT; only ADVERTISER has assets here), optional ``filtering`` ``{keyword}`` (a case-insensitive
substring of the name), ``page``, ``page_size`` (1-50) → ``data.list[]`` of ``{asset_id, asset_name,
asset_type, relation_type, relation_status, advertiser_status, advertiser_account_type, advertiser_role,
owner_bc_name}`` and ``page_info``, limited to advertisers the token reaches. A BC the token cannot see is
40002, as an unreachable advertiser is elsewhere in the sandbox.
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox.business import BusinessCenter
from monitor.sandbox.call import Call
from monitor.sandbox.params import page_info, param_error

MAX_PAGE_SIZE = 50
ASSET_TYPES = ("ADVERTISER", "CATALOG", "TIKTOK_SHOP", "PIXEL", "LEAD", "TT_ACCOUNT")


def _visible(call: Call) -> list[BusinessCenter]:
    return [bc for bc in call.sandbox.business_centers if any(call.reaches(i) for i, _ in bc.assets)]


def _page(call: Call, rows: list[dict[str, Any]]) -> dict[str, Any]:
    page = call.params.integer("page", default=1, low=1, high=1_000_000)
    page_size = call.params.integer("page_size", default=10, low=1, high=MAX_PAGE_SIZE)
    return {
        "list": rows[(page - 1) * page_size : page * page_size],
        "page_info": page_info(len(rows), page, page_size),
    }


async def bc_get(call: Call) -> dict[str, Any]:
    bc_id = call.params.id("bc_id", required=False)
    found = [bc for bc in _visible(call) if bc_id is None or bc.bc_id == bc_id]
    rows = [
        {"bc_info": bc.info(), "user_role": bc.user_role, "ext_user_role": {"finance_role": bc.finance_role}}
        for bc in found
    ]
    return _page(call, rows)


async def bc_asset_get(call: Call) -> dict[str, Any]:
    p = call.params
    bc_id = p.id("bc_id")
    asset_type = p.choice("asset_type", ASSET_TYPES, required=True)
    filtering = p.structured("filtering", dict) or {}
    keyword = filtering.get("keyword")
    if keyword is not None and not isinstance(keyword, str):
        raise param_error("filtering.keyword: Not a valid string.")
    bc = next((b for b in _visible(call) if b.bc_id == bc_id), None)
    if bc is None:
        raise param_error(f"bc_id: Business Center {bc_id} does not exist or this access token has no access to it.")
    rows: list[dict[str, Any]] = []
    if asset_type == "ADVERTISER":
        for advertiser_id, role in bc.assets:
            adv = call.world.advertisers[advertiser_id]
            if not call.reaches(advertiser_id) or (keyword and keyword.lower() not in adv.name.lower()):
                continue
            rows.append(
                {
                    "asset_id": advertiser_id,
                    "asset_name": adv.name,
                    "asset_type": "ADVERTISER",
                    "relation_type": "OWNER_PARTNER",
                    "relation_status": "BOUND",
                    "advertiser_status": "STATUS_ENABLE",
                    "advertiser_account_type": "AUCTION",
                    "advertiser_role": role,
                    "owner_bc_name": f"{adv.name} BC",
                }
            )
    return _page(call, rows)
