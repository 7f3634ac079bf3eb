"""What a report over several advertisers answers, and how it is split back into each advertiser's report
(:mod:`monitor.tiktok.report_batch` gathers the requests; tiktok-api.md §7.1, §12).

The request adds the :data:`OWNER_METRIC` metric (``advertiser_id``), which says whose each row is; each poll gets
the rows of its own advertiser, without that metric unless it asked for it (:func:`split_rows`). Two requests may
share a call when they are equal but for the advertiser (:func:`batch_key`); a refusal of combining is remembered
for the request's shape, its key without dates (:func:`shape_key`).

**Money values**: TikTok says money values of a multi-advertiser report "lose their decimal formatting"
(**verify** against a live account). The single report sends them with decimals (``"14.68"``, ``"0.00"``: parsed
as floats), so a money metric that arrives as a whole number is made a float here: each poll gets the types its
own report would have given (the store compares values with their types).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from monitor.tiktok.models import ReportQuery, ReportRow

__all__ = ["OWNER_METRIC", "Combined", "CombinedRead", "batch_key", "is_money", "shape_key", "split_rows"]

#: The metric naming each row's account in a multi-advertiser answer.
OWNER_METRIC = "advertiser_id"

_MONEY = frozenset(
    {
        "spend", "cpc", "cpm", "cash_spend", "voucher_spend", "total_purchase_value", "value_per_complete_payment",
        "cost_per_1000_reached",
    }
)  # fmt: skip
_MONEY_PREFIXES = ("cost_per_", "real_time_cost_per_")


@dataclass(frozen=True)
class Combined:
    """What the client read of one combined report: each row with its owner (the ``advertiser_id`` metric as
    sent), whether TikTok flagged the rows as capped, and the answers' request ids."""

    rows: list[tuple[str, ReportRow]]
    truncated: bool
    request_ids: tuple[str, ...]


#: The client's read of one report over several advertisers: (advertiser ids, query, page size) -> Combined.
CombinedRead = Callable[[list[str], ReportQuery, int], Awaitable[Combined]]


def batch_key(query: ReportQuery, page_size: int) -> str:
    """What must be equal for two advertisers' requests to share a call: every parameter but the advertiser."""
    params = query.params("")
    del params["advertiser_id"]
    return json.dumps([params, page_size], sort_keys=True, default=str)


def shape_key(query: ReportQuery) -> str:
    """The request without its dates: what a refusal of combining is remembered for."""
    params = query.params("")
    for name in ("advertiser_id", "start_date", "end_date"):
        params.pop(name, None)
    return json.dumps(params, sort_keys=True, default=str)


def is_money(name: str) -> bool:
    """Whether ``name`` is a metric in the account's currency (spend, cpc, cost_per_*, ...)."""
    return name in _MONEY or name.startswith(_MONEY_PREFIXES)


def split_rows(
    rows: Sequence[tuple[str, ReportRow]], advertiser_ids: Sequence[str], asked: Sequence[str]
) -> dict[str, list[ReportRow]]:
    """Each advertiser's rows, in the order they came, with only the metrics in ``asked`` (the owner metric
    added for the split goes) and money metrics sent as whole numbers made floats (the module docstring).
    Raises ValueError for a row naming an advertiser not asked for."""
    out: dict[str, list[ReportRow]] = {advertiser_id: [] for advertiser_id in advertiser_ids}
    keep = frozenset(asked)
    for owner, row in rows:
        found = out.get(owner)
        if found is None:
            raise ValueError(f"a row of advertiser {owner}, which was not asked for")
        metrics = {
            name: float(value) if type(value) is int and is_money(name) else value
            for name, value in row.metrics.items()
            if name in keep
        }
        found.append(ReportRow(dimensions=row.dimensions, metrics=metrics))
    return out
