"""report/integrated/get/ over ``advertiser_ids`` (tiktok-api.md §7.1, §12): one BASIC report over up to 5
advertisers the token reaches.

At AUCTION_AD level the sync report's cap (``SandboxSettings.sync_ad_limit``, 20,000 ads) applies across the
advertisers (tiktok-api.md §12): past it the answer is flagged (``X-Tt-Ads-Throttle``) and holds the rows of the
advertisers whose ads, with those before them in the order given, stay within it (which ads TikTok keeps then is
not simulated).

Each advertiser's rows are computed as its own report (dates in its own time zone, its own currency) and the
answer lists them advertiser by advertiser in the order given, then pages through them as one list. The
metrics ``advertiser_id``, ``currency`` and ``timezone`` carry each row's account when asked for.

Not simulated (40002 saying so): a report without the level's id dimension (TikTok cannot add up spend across
currencies there and answers "-"), ``multi_adv_report_in_utc_time=true``, ``enable_total_metrics`` together with
``advertiser_ids``, and ``advertiser_ids`` on the async ``report/task/create/``.
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox.call import Answer, Call
from monitor.sandbox.params import checked_strings, page_info, param_error
from monitor.sandbox.report import format_row
from monitor.sandbox.report_query import parse_report_query

MAX_ADVERTISERS = 5
THROTTLE_HEADER = "X-Tt-Ads-Throttle"


def is_multi(call: Call) -> bool:
    """Whether the request reports over ``advertiser_ids`` instead of one ``advertiser_id``."""
    p = call.params
    return not p.has("advertiser_id") and p.has("advertiser_ids") and not p.has("bc_id")


async def report_over_advertisers(call: Call) -> Answer:
    p = call.params
    ids = checked_strings("advertiser_ids", p.structured("advertiser_ids", list, required=True), ids=True)
    if not 1 <= len(ids) <= MAX_ADVERTISERS:
        raise param_error(f"advertiser_ids: Length must be between 1 and {MAX_ADVERTISERS}.")
    missing = [i for i in ids if not call.reaches(i)]
    if missing:
        raise param_error(
            f"advertiser_ids: No permission to access advertiser(s) {', '.join(missing)}, or they do not exist."
        )
    for name in ("multi_adv_report_in_utc_time", "enable_total_metrics"):
        if p.boolean(name):
            raise param_error(f"{name} together with advertiser_ids is not simulated by the sandbox.")
    queries = [parse_report_query(p.replaced("advertiser_id", i), sync=True) for i in dict.fromkeys(ids)]
    if not queries[0].has_id_dimension:
        raise param_error(
            "dimensions: A report over advertiser_ids without the level's id dimension is not simulated by the "
            "sandbox (TikTok cannot add up spend across currencies there)."
        )
    cache, world, now = call.sandbox.report_cache, call.world, call.now
    rows: list[dict[str, Any]] = []
    truncated, covered = False, 0
    for q in queries:
        adv = world.advertisers[q.advertiser_id]
        result = await call.sandbox.offload(lambda adv=adv, q=q: cache.get_or_run(world, adv, q, now))  # type: ignore[misc]
        covered += result.ads
        if covered > cache.ad_limit:  # capped across the advertisers: this one's rows and the rest's are left out
            truncated = True
            break
        truncated = truncated or result.truncated
        account = {"advertiser_id": adv.advertiser_id, "currency": adv.currency, "timezone": adv.zone_name}
        for row in result.rows:
            dims, metrics = format_row(result, row)
            metrics.update({k: v for k, v in account.items() if k in metrics})
            rows.append({"dimensions": dims, "metrics": metrics})
    q = queries[0]
    page = rows[(q.page - 1) * q.page_size : q.page * q.page_size]
    headers = {THROTTLE_HEADER: "true"} if truncated else {}
    return Answer({"list": page, "page_info": page_info(len(rows), q.page, q.page_size)}, headers=headers)
