"""Parsing and validating a BASIC or AUDIENCE report request (sync ``report/integrated/get/`` and
``report/task/create/``).

Supported (anything else is a 40002 naming the parameter):

* ``advertiser_id`` (sync reports over ``advertiser_ids``: reports_multi.py; ``bc_id`` reports and async ones
  over ``advertiser_ids`` are not simulated), ``service_type`` AUCTION,
  ``report_type`` BASIC or AUDIENCE (audience.py; PLAYABLE_MATERIAL, CATALOG, BC and TT_SHOP are not simulated),
  ``data_level`` AUCTION_ADVERTISER|CAMPAIGN|ADGROUP|AD;
* ``dimensions``: the level's id (advertiser_id, campaign_id, adgroup_id or ad_id; at ad level also ad_id_v2,
  the Smart+ ad id of a Smart+ creative, see :mod:`monitor.sandbox.smartplus`) and/or one of stat_time_day,
  stat_time_hour; AUDIENCE reports add audience dimensions (age, gender, country_code, platform, province_id:
  audience.py), BASIC ones may add country_code; an AUDIENCE report cannot ask for ``query_lifetime``;
* ``metrics``: an open list, as in the SDK: any lower-case metric name (default ["spend", "impressions"]);
  those the sandbox does not simulate answer zero or "-" (metrics.py);
* ``start_date``/``end_date`` (inclusive, account time zone) or ``query_lifetime`` (no time dimension).
  Sync limits: stat_time_day ≤ 30 days, stat_time_hour = 1 day, otherwise ≤ 365 days; async: none;
* ``filtering``: a list of {field_name, filter_type, filter_value}; campaign_ids (any level), adgroup_ids
  (ad group and ad level), ad_ids (ad level) with IN or NOT_IN and ``filter_value`` a JSON-array string (≤100
  ids sync, ≤20 000 async); campaign_status / adgroup_status / ad_status IN ["STATUS_ALL"] includes deleted
  objects (default ["STATUS_NOT_DELETE"]);
* ``order_field`` (a non-attribute metric) and ``order_type`` ASC|DESC; ``page``, ``page_size`` ≤ 1000 (sync).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from monitor.sandbox.audience import AUDIENCE_DIMENSIONS, NOT_SIMULATED, check_audience
from monitor.sandbox.metrics import ATTRIBUTE_SET, DEFAULT_METRICS, is_metric_name
from monitor.sandbox.params import Params, checked_strings, param_error

LEVEL_ID = {
    "AUCTION_ADVERTISER": "advertiser_id",
    "AUCTION_CAMPAIGN": "campaign_id",
    "AUCTION_ADGROUP": "adgroup_id",
    "AUCTION_AD": "ad_id",
}
TIME_DIMENSIONS = ("stat_time_day", "stat_time_hour")
RANGE_LIMIT_DAYS = {"stat_time_day": 30, "stat_time_hour": 1, None: 365}
REPORT_TYPES = ("BASIC", "AUDIENCE", "PLAYABLE_MATERIAL", "CATALOG", "BC", "TT_SHOP")
#: id filter -> data levels at which it is allowed
ID_FILTERS = {
    "campaign_ids": frozenset(LEVEL_ID),
    "adgroup_ids": frozenset({"AUCTION_ADGROUP", "AUCTION_AD"}),
    "ad_ids": frozenset({"AUCTION_AD"}),
}
STATUS_FILTERS = ("campaign_status", "adgroup_status", "ad_status")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ReportQuery:
    advertiser_id: str
    level: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    start: date | None
    end: date | None
    lifetime: bool
    id_filters: dict[str, tuple[frozenset[str], bool]]  # filter name -> (ids, negated)
    include_deleted: bool
    order_field: str | None
    order_desc: bool
    page: int = 1
    page_size: int = 10
    report_type: str = "BASIC"

    @property
    def audience(self) -> tuple[str, ...]:
        """The audience dimensions asked for, in request order (audience.py)."""
        return tuple(d for d in self.dimensions if d in AUDIENCE_DIMENSIONS)

    @property
    def time_dimension(self) -> str | None:
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)

    @property
    def has_id_dimension(self) -> bool:
        return LEVEL_ID[self.level] in self.dimensions or "ad_id_v2" in self.dimensions

    def cache_key(self) -> tuple[object, ...]:
        """Everything that determines the rows (not the page)."""
        filters = tuple(sorted((k, tuple(sorted(ids)), neg) for k, (ids, neg) in self.id_filters.items()))
        return (
            self.advertiser_id,
            self.level,
            self.dimensions,
            self.metrics,
            self.start,
            self.end,
            self.lifetime,
            filters,
            self.include_deleted,
            self.order_field,
            self.order_desc,
            self.report_type,
        )


def parse_report_query(p: Params, *, sync: bool) -> ReportQuery:
    if not p.has("advertiser_id") and (p.has("advertiser_ids") or p.has("bc_id")):
        what = "bc_id" if p.has("bc_id") else "advertiser_ids (async)" if not sync else "advertiser_ids"
        raise param_error(
            f"advertiser_id: Reports over {what} are not simulated by the sandbox; pass one advertiser_id."
        )
    advertiser_id = p.id("advertiser_id")
    assert advertiser_id is not None
    if p.string("service_type", default="AUCTION") != "AUCTION":
        raise param_error("service_type: Must be AUCTION (RESERVATION is deprecated).")
    report_type = p.choice("report_type", REPORT_TYPES, required=True)
    if report_type not in ("BASIC", "AUDIENCE"):
        raise param_error(
            f"report_type: {report_type} reports are not simulated by the sandbox; use BASIC or AUDIENCE."
        )
    level = p.choice("data_level", tuple(LEVEL_ID), required=True)
    assert level is not None and report_type is not None
    dimensions = _dimensions(p.string_list("dimensions", required=True) or [], level)
    check_audience(report_type, [d for d in dimensions if d in AUDIENCE_DIMENSIONS])
    metrics = p.string_list("metrics") or list(DEFAULT_METRICS)
    unknown = [m for m in metrics if not is_metric_name(m)]
    if unknown:
        raise param_error(f"metrics: Invalid metric(s): {', '.join(unknown)}.")
    if not metrics:
        raise param_error("metrics: Length must be at least 1.")
    lifetime = p.boolean("query_lifetime")
    time_dim = next((d for d in dimensions if d in TIME_DIMENSIONS), None)
    start = end = None
    if lifetime:
        if report_type == "AUDIENCE":
            raise param_error("query_lifetime: Only BASIC reports can query the lifetime; got report_type AUDIENCE.")
        if time_dim:
            raise param_error(f"query_lifetime: Cannot be used with the time dimension {time_dim}.")
    else:
        start, end = _date(p, "start_date"), _date(p, "end_date")
        if end < start:
            raise param_error("end_date: Must not be earlier than start_date.")
        span = (end - start).days + 1
        limit = RANGE_LIMIT_DAYS[time_dim]
        if sync and span > limit:
            what = f"with {time_dim}" if time_dim else "without a time dimension"
            raise param_error(f"start_date, end_date: The date range {what} cannot exceed {limit} day(s); got {span}.")
    id_filters, include_deleted = _filtering(p, level, max_ids=100 if sync else 20_000)
    order_field = p.string("order_field")
    if order_field is not None and (not is_metric_name(order_field) or order_field in ATTRIBUTE_SET):
        raise param_error(f"order_field: {order_field!r} is not a sortable metric.")
    order_desc = p.choice("order_type", ("ASC", "DESC"), default="DESC") == "DESC"
    page = p.integer("page", default=1, low=1, high=1_000_000) if sync else 1
    page_size = p.integer("page_size", default=10, low=1, high=1000) if sync else 1
    return ReportQuery(
        advertiser_id,
        level,
        tuple(dimensions),
        tuple(metrics),
        start,
        end,
        lifetime,
        id_filters,
        include_deleted,
        order_field,
        order_desc,
        page,
        page_size,
        report_type,
    )


def _dimensions(dims: list[str], level: str) -> list[str]:
    if not dims:
        raise param_error("dimensions: Length must be at least 1.")
    allowed = {LEVEL_ID[level], *TIME_DIMENSIONS, *AUDIENCE_DIMENSIONS}
    allowed |= {"ad_id_v2"} if level == "AUCTION_AD" else set()
    wrong = [d for d in dims if d not in allowed]
    if wrong:
        known = [d for d in wrong if d in NOT_SIMULATED]
        what = f"the audience dimension(s) {', '.join(known)}" if known else f"{', '.join(wrong)} at data_level {level}"
        raise param_error(
            f"dimensions: {what} is not simulated by the sandbox; allowed: {LEVEL_ID[level]} plus at most one of "
            "stat_time_day, stat_time_hour, plus age, gender, country_code, platform or province_id (AUDIENCE)."
        )
    if "ad_id" in dims and "ad_id_v2" in dims:
        raise param_error("dimensions: ad_id together with ad_id_v2 is not simulated by the sandbox; use one.")
    if len(set(dims)) != len(dims) or sum(d in TIME_DIMENSIONS for d in dims) > 1:
        raise param_error("dimensions: Duplicate dimensions or more than one time dimension.")
    return dims


def _date(p: Params, name: str) -> date:
    text = p.string(name, required=True)
    assert text is not None
    try:
        if not _DATE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise param_error(f"{name}: Not a valid date (YYYY-MM-DD): {text!r}.") from None


def _filtering(p: Params, level: str, *, max_ids: int) -> tuple[dict[str, tuple[frozenset[str], bool]], bool]:
    items = p.structured("filtering", list) or []
    id_filters: dict[str, tuple[frozenset[str], bool]] = {}
    include_deleted = False
    for item in items:
        if not isinstance(item, dict) or "field_name" not in item:
            raise param_error("filtering: Each filter must be an object with field_name, filter_type and filter_value.")
        name, ftype = item.get("field_name"), item.get("filter_type")
        values = _filter_values(name, item.get("filter_value"))
        if name in ID_FILTERS:
            if level not in ID_FILTERS[name]:
                raise param_error(f"filtering: {name} cannot be used at data_level {level}.")
            if ftype not in ("IN", "NOT_IN"):
                raise param_error(f"filtering: filter_type of {name} must be IN or NOT_IN.")
            ids = checked_strings(f"filtering.{name}", values, max_len=max_ids, ids=True)
            id_filters[name] = (frozenset(ids), ftype == "NOT_IN")
        elif name in STATUS_FILTERS:
            if ftype != "IN" or not set(values) <= {"STATUS_ALL", "STATUS_NOT_DELETE"}:
                raise param_error(
                    f"filtering: {name} other than IN "
                    '["STATUS_ALL"] or ["STATUS_NOT_DELETE"] is not simulated by the sandbox.'
                )
            include_deleted = include_deleted or "STATUS_ALL" in values
        else:
            raise param_error(f"filtering: field_name {name!r} is not simulated by the sandbox.")
    return id_filters, include_deleted


def _filter_values(name: object, value: object) -> list[object]:
    """``filter_value`` is a JSON-array *string* (a native list is tolerated in async bodies)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise param_error(f"filtering: filter_value of {name} is not a valid JSON array string.") from None
    if not isinstance(value, list):
        raise param_error(f"filtering: filter_value of {name} must be a JSON array string, e.g. '[\"123\"]'.")
    return value
