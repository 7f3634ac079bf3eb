"""The asset library's list endpoints (what Airbyte's ``source-tiktok-marketing`` 4.7.0 reads; the items are
:mod:`monitor.sandbox.library`'s). Each takes ``advertiser_id``, ``page`` (≥ 1) and ``page_size`` and answers
its items with ``page_info`` like the other list endpoints; a page size outside the range is a 40002.

* ``dmp/custom_audience/list/`` → ``data.list`` (page_size 1-100, default 10, as the SDK documents);
  ``custom_audience_ids`` (1-100 ids) filters;
* ``file/video/ad/search/`` → ``data.list`` (page_size 1-100, default 20, as the SDK documents); ``filtering``
  ``video_ids``, ``material_ids``, ``displayable``, ``width``, ``height`` work (the SDK's FilteringVideoAdSearch;
  ``ratio`` is refused as not simulated);
* ``file/image/ad/search/`` → ``data.list`` (page_size 1-100, default 20, like videos);
* ``file/music/get/`` → ``data.musics`` (page_size 1-100, default 20);
* ``creative/portfolio/list/`` → ``data.creative_portfolios`` (page_size 1-100, default 20); ``filtering``
  ``creative_portfolio_ids`` and ``creative_portfolio_types`` work (the SDK's FilteringCreativePortfolioList);
* ``tt_video/list/`` (Spark Ads posts) → ``data.list`` (page_size 1-50, default 20).

The SDK wraps neither ``file/image/ad/search/``, ``file/music/get/`` nor ``tt_video/list/``, so their filters are
unknown here: any ``filtering`` on them is refused with a 40002 saying it is not simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from monitor.sandbox import library
from monitor.sandbox.call import Call
from monitor.sandbox.entities import Ad, Campaign
from monitor.sandbox.params import checked_strings, page_info, param_error


def _paged(
    call: Call, key: str, items: Sequence[Any], render: Callable[[Any], dict[str, Any]], *, default: int, high: int
) -> dict[str, Any]:
    page = call.params.integer("page", default=1, low=1, high=1_000_000)
    size = call.params.integer("page_size", default=default, low=1, high=high)
    chosen = items[(page - 1) * size : page * size]  # render only the page: an account may have 100,000 ads
    return {key: [render(i) for i in chosen], "page_info": page_info(len(items), page, size)}


def _filtering(call: Call, path: str, supported: frozenset[str]) -> dict[str, Any]:
    f = call.params.structured("filtering", dict) or {}
    other = sorted(set(f) - supported)
    if other:
        known = f" (supported: {', '.join(sorted(supported))})" if supported else ""
        raise param_error(f"filtering: {', '.join(other)} is not simulated by the sandbox on {path}{known}.")
    return f


def _ids(f: dict[str, Any], key: str) -> frozenset[str] | None:
    return frozenset(checked_strings(f"filtering.{key}", f[key], max_len=100)) if key in f else None


async def custom_audience_list(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    wanted = call.params.string_list("custom_audience_ids", max_len=100)
    rows = [a for a in library.audiences(adv) if wanted is None or a["audience_id"] in wanted]
    return _paged(call, "list", rows, dict, default=10, high=100)


def _flag(f: dict[str, Any], key: str, kind: type) -> Any:
    value = f.get(key)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise param_error(f"filtering.{key}: Not a valid {kind.__name__}.")
    return value


async def video_ad_search(call: Call) -> dict[str, Any]:
    adv, now = call.advertiser(), call.now
    supported = frozenset({"video_ids", "material_ids", "displayable", "width", "height"})
    f = _filtering(call, "file/video/ad/search/", supported)
    ids, materials = _ids(f, "video_ids"), _ids(f, "material_ids")
    displayable, width, height = _flag(f, "displayable", bool), _flag(f, "width", int), _flag(f, "height", int)
    ads = [a for a in call.world.listing(adv, "ad") if isinstance(a, Ad)]
    if ids is not None:
        ads = [a for a in ads if library.video_id(a) in ids]
    if materials is not None:
        ads = [a for a in ads if f"72{a.ad_id[-17:]}" in materials]
    if displayable is False or width not in (None, 720) or height not in (None, 1280):
        ads = []  # every video here is a displayable 720 x 1280
    return _paged(call, "list", ads, lambda a: library.video(a, now), default=20, high=100)


def _campaigns(call: Call) -> list[Campaign]:
    return [c for c in call.world.listing(call.advertiser(), "campaign") if isinstance(c, Campaign)]


async def image_ad_search(call: Call) -> dict[str, Any]:
    _filtering(call, "file/image/ad/search/", frozenset())
    return _paged(call, "list", _campaigns(call), library.image, default=20, high=100)


async def music_get(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    _filtering(call, "file/music/get/", frozenset())
    return _paged(call, "musics", library.music(adv), dict, default=20, high=100)


async def portfolio_list(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    f = _filtering(call, "creative/portfolio/list/", frozenset({"creative_portfolio_ids", "creative_portfolio_types"}))
    ids, types = _ids(f, "creative_portfolio_ids"), _ids(f, "creative_portfolio_types")
    rows = [
        p
        for p in library.portfolios(adv)
        if (ids is None or p["creative_portfolio_id"] in ids)
        and (types is None or p["creative_portfolio_type"] in types)
    ]
    return _paged(call, "creative_portfolios", rows, dict, default=20, high=100)


async def tt_video_list(call: Call) -> dict[str, Any]:
    _filtering(call, "tt_video/list/", frozenset())
    return _paged(call, "list", _campaigns(call), library.spark_post, default=20, high=50)
