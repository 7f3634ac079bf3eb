"""The pixel endpoints Airbyte's ``source-tiktok-marketing`` 4.7.0 reads (the pixel is
:mod:`monitor.sandbox.library`'s: one per advertiser, with a Complete Payment event).

* ``pixel/list/``: ``advertiser_id``; ``pixel_id``, ``code`` (exact) and ``name`` (a case-insensitive substring)
  filter; ``order_by`` any (one pixel: no order to keep); ``filtering`` ``available_for_catalog_only`` false (true
  is refused as not simulated); ``page``, ``page_size`` 1-20 (default 10) → ``data.pixels`` and ``page_info``.
* ``pixel/instant_page/event/``: ``advertiser_id``, optional ``objective_type`` and ``optimization_goal`` →
  ``data.list`` empty: the sandbox's advertisers have no instant pages.
* ``pixel/event/stats/``: ``advertiser_id``, ``pixel_ids`` (a JSON list, 1-20, the advertiser's), ``date_range``
  (a JSON object ``{start_date, end_date}``, YYYY-MM-DD, the account's local dates) → ``data.list`` of
  ``{pixel_id, statistics: [{pixel_event_type, custom_event_type, attributed_count, preview_count,
  total_count, browser_event_total_count, server_event_total_count}]}``: Complete Payment counts the
  advertiser's conversions over those dates (all attributed, all from the browser).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from monitor.sandbox import library
from monitor.sandbox.call import Call
from monitor.sandbox.params import checked_strings, page_info, param_error
from monitor.sandbox.report import run_report
from monitor.sandbox.report_query import ReportQuery

MAX_PIXEL_IDS = 20


async def pixel_list(call: Call) -> dict[str, Any]:
    adv, p = call.advertiser(), call.params
    f = p.structured("filtering", dict) or {}
    other = sorted(set(f) - {"available_for_catalog_only"})
    if other or f.get("available_for_catalog_only") not in (None, False):
        what = ", ".join(other) or "available_for_catalog_only=true"
        raise param_error(f"filtering: {what} is not simulated by the sandbox on pixel/list/.")
    pixel = library.pixel(adv)
    name = p.string("name")
    keep = (
        p.string("pixel_id") in (None, pixel["pixel_id"])
        and p.string("code") in (None, pixel["pixel_code"])
        and (name is None or name.lower() in pixel["pixel_name"].lower())
    )
    rows = [pixel] if keep else []
    page = p.integer("page", default=1, low=1, high=1_000_000)
    size = p.integer("page_size", default=10, low=1, high=20)
    return {"pixels": rows[(page - 1) * size : page * size], "page_info": page_info(len(rows), page, size)}


async def instant_page_events(call: Call) -> dict[str, Any]:
    call.advertiser()
    call.params.string("objective_type")
    call.params.string("optimization_goal")
    return {"list": []}


def _day(value: object, name: str) -> date:
    try:
        if not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise param_error(f"date_range.{name}: Not a valid date (YYYY-MM-DD).") from None


async def event_stats(call: Call) -> dict[str, Any]:
    adv, p = call.advertiser(), call.params
    ids = checked_strings("pixel_ids", p.structured("pixel_ids", list, required=True), max_len=MAX_PIXEL_IDS, ids=True)
    if not ids:
        raise param_error(f"pixel_ids: Length must be between 1 and {MAX_PIXEL_IDS}.")
    unknown = [i for i in ids if i != library.pixel_id(adv)]
    if unknown:
        raise param_error(f"pixel_ids: Pixel {unknown[0]} does not exist for this advertiser.")
    span = p.structured("date_range", dict, required=True)
    start, end = _day(span.get("start_date"), "start_date"), _day(span.get("end_date"), "end_date")
    if end < start:
        raise param_error("date_range: end_date must not be before start_date.")
    q = ReportQuery(
        adv.advertiser_id,
        "AUCTION_ADVERTISER",
        ("advertiser_id",),
        ("conversion",),
        start,
        end,
        False,
        {},
        False,
        None,
        False,
    )
    result = await call.sandbox.offload(lambda: run_report(call.world, adv, q, call.now, sync=False))
    conversions = sum(r.totals.conversion for r in result.rows)
    stats = [
        {
            "pixel_event_type": event_type,
            "custom_event_type": event_type,
            "attributed_count": conversions,
            "preview_count": 0,
            "total_count": conversions,
            "browser_event_total_count": conversions,
            "server_event_total_count": 0,
        }
        for _, event_type, _ in library.PIXEL_EVENTS
    ]
    return {"list": [{"pixel_id": i, "statistics": stats} for i in dict.fromkeys(ids)]}
