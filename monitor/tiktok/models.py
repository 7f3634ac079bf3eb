"""Value objects for what the API returns.

The daemon's own vocabulary (:class:`Level`, :data:`MetricValue`, :class:`Account`) lives in :mod:`monitor.domain`;
this module is the API's side of the edge. Answers are read with the checks of :mod:`monitor.tiktok.shape`
(where the parsing of the API's string-typed numbers lives, re-exported here).

Everything here is frozen: API answers leave ``tiktok/`` only as these types, or as plain tuples of them (a
list page's :data:`~monitor.domain.EntityFields`, :mod:`monitor.tiktok.entity_rows`; a report's columns,
:mod:`monitor.tiktok.report_table`). IDs stay strings (some exceed 2**53). A metric TikTok did not report is
``None``: never 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from types import MappingProxyType
from typing import Any

from pydantic import SecretStr

from monitor.domain import Account, Level, zone_or_utc
from monitor.domain.values import shared
from monitor.tiktok.report_table import Report as Report
from monitor.tiktok.report_table import ReportRow as ReportRow
from monitor.tiktok.report_table import ReportTable as ReportTable
from monitor.tiktok.shape import ATTRIBUTE_METRICS as ATTRIBUTE_METRICS
from monitor.tiktok.shape import Fields, Where
from monitor.tiktok.shape import parse_metric as parse_metric
from monitor.tiktok.shape import parse_number as parse_number

log = logging.getLogger(__name__)

#: ``campaign_automation_type`` values of Upgraded Smart+ campaigns: their objects are read and written through
#: the smart_plus/* endpoints (tiktok-api.md §12). Plain SMART_PLUS (the older kind) uses the ordinary ones.
#: The report dimension that keys Upgraded Smart+ ads (``ad_id`` keys their creatives there).
SMART_PLUS_AD_DIMENSION = "ad_id_v2"

UPGRADED_SMART_PLUS = frozenset({"UPGRADED_SMART_PLUS", "UPGRADED_SMART_PLUS_CREATIVE"})

#: Fields fetched when the caller names none: what status diffs and budget rules read.
DEFAULT_FIELDS: Mapping[Level, tuple[str, ...]] = MappingProxyType(
    {
        Level.CAMPAIGN: (
            "campaign_id",
            "campaign_name",
            "operation_status",
            "secondary_status",
            "budget",
            "budget_mode",
            "modify_time",
        ),
        Level.ADGROUP: (
            "adgroup_id",
            "adgroup_name",
            "campaign_id",
            "operation_status",
            "secondary_status",
            "budget",
            "budget_mode",
            "modify_time",
        ),
        Level.AD: (
            "ad_id",
            "ad_name",
            "adgroup_id",
            "campaign_id",
            "operation_status",
            "secondary_status",
            "modify_time",
        ),
    }
)


@dataclass(frozen=True)
class AdvertiserRef:
    """An advertiser the token reaches (oauth2/advertiser/get)."""

    id: str
    name: str


@dataclass(frozen=True)
class AdvertiserInfo:
    """advertiser/info: what the daemon needs to know about an account."""

    id: str
    name: str
    status: str | None
    currency: str | None
    timezone: str | None  # IANA name (display_timezone preferred over the offset-style `timezone`)
    role: str | None = None
    balance: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def account(self) -> Account:
        """The account in the daemon's vocabulary (its time zone resolved once)."""
        return Account(self.id, self.name, self.currency, self.timezone)

    def zone(self) -> tzinfo:
        """The account's time zone, in which report dates are counted (see :func:`zone_or_utc`)."""
        return zone_or_utc(self.timezone)

    def local_date(self, now: datetime) -> date:
        """The account's local date at the instant ``now`` (aware)."""
        return now.astimezone(self.zone()).date()


@dataclass(frozen=True)
class Entity:
    """One campaign, ad group or ad as campaign|adgroup|ad/get returned it."""

    level: Level
    id: str
    advertiser_id: str
    name: str | None
    operation_status: str | None
    secondary_status: str | None
    budget: float | None
    budget_mode: str | None
    campaign_id: str | None = None
    adgroup_id: str | None = None
    #: Part of an Upgraded Smart+ campaign (see :data:`UPGRADED_SMART_PLUS`).
    smart_plus: bool = False

    @classmethod
    def from_api(cls, level: Level, advertiser_id: str, row: Mapping[str, Any] | Fields) -> Entity:
        """One row of campaign|adgroup|ad/get for ``advertiser_id``, its fields type-checked (a wrong one is a
        BadResponseError naming it). A row that names another advertiser is refused: it does not belong in
        this advertiser's snapshot."""
        if not isinstance(row, Fields):
            row = Fields(row, "row", Where(f"{level.value}/get/", advertiser_id))
        owner = row.opt_id("advertiser_id")
        if owner is not None and owner != advertiser_id:
            raise row.error("advertiser_id", f"is {owner}, expected {advertiser_id} (the advertiser asked for)")
        return cls(
            level=level,
            id=row.id(level.id_field),
            advertiser_id=advertiser_id,
            name=row.text(level.name_field),
            operation_status=shared(row.text("operation_status")),
            secondary_status=shared(row.text("secondary_status")),
            budget=row.number("budget"),
            budget_mode=shared(row.text("budget_mode")),
            campaign_id=shared(row.opt_id("campaign_id")) if level is not Level.CAMPAIGN else None,
            adgroup_id=shared(row.opt_id("adgroup_id")) if level is Level.AD else None,
            smart_plus=level is Level.CAMPAIGN and row.text("campaign_automation_type") in UPGRADED_SMART_PLUS,
        )

    @classmethod
    def from_smart_plus_ad(cls, advertiser_id: str, row: Fields) -> Entity:
        """One row of smart_plus/ad/get: the ad's id is its ``smart_plus_ad_id`` (``ad_id`` accepted when that is
        missing: the field names are from the SDK, not verified against a live account) and its name ``ad_name``."""
        owner = row.opt_id("advertiser_id")
        if owner is not None and owner != advertiser_id:
            raise row.error("advertiser_id", f"is {owner}, expected {advertiser_id} (the advertiser asked for)")
        ad_id = row.opt_id("smart_plus_ad_id") or row.id("ad_id")
        return cls(
            level=Level.AD,
            id=ad_id,
            advertiser_id=advertiser_id,
            name=row.text("ad_name") or row.text("smart_plus_ad_name"),
            operation_status=row.text("operation_status"),
            secondary_status=row.text("secondary_status"),
            budget=None,
            budget_mode=None,
            campaign_id=row.opt_id("campaign_id"),
            adgroup_id=row.opt_id("adgroup_id"),
            smart_plus=True,
        )


@dataclass(frozen=True)
class ReportQuery:
    """What a BASIC report asks for: the same for the sync report and the async report task.

    Dates are the advertiser's local dates, inclusive (see :meth:`AdvertiserInfo.local_date`);
    ``lifetime=True`` asks for the whole lifetime instead. Default dimensions: the level's id.
    """

    level: Level
    metrics: tuple[str, ...]
    start_date: date | None = None
    end_date: date | None = None
    lifetime: bool = False
    dimensions: tuple[str, ...] = ()
    filtering: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(dict.fromkeys(self.metrics)))
        object.__setattr__(self, "dimensions", tuple(self.dimensions) or (self.level.id_field,))
        object.__setattr__(self, "filtering", tuple(self.filtering))
        if not self.lifetime and self.start_date is None:
            raise ValueError("a report needs start_date (and end_date) or lifetime=True")

    def params(self, advertiser_id: str) -> dict[str, Any]:
        """The request parameters (GET query for the sync report, POST body for a task)."""
        params: dict[str, Any] = {
            "advertiser_id": advertiser_id,
            "report_type": "BASIC",
            "data_level": self.level.data_level,
            "dimensions": list(self.dimensions),
            "metrics": list(self.metrics),
        }
        if self.lifetime:
            params["query_lifetime"] = True
        else:
            assert self.start_date is not None  # checked in __post_init__
            params["start_date"] = self.start_date.isoformat()
            params["end_date"] = (self.end_date or self.start_date).isoformat()
        if self.filtering:
            params["filtering"] = [dict(f) for f in self.filtering]
        return params


@dataclass(frozen=True)
class WriteFailure:
    """Ids a write did not change, and why."""

    ids: tuple[str, ...]
    message: str
    code: int | None = None
    request_id: str | None = None
    transient: bool = False


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a batched write (status or budget): which ids changed, which did not, and the request ids."""

    succeeded: tuple[str, ...]
    failures: tuple[WriteFailure, ...] = ()
    request_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class TokenGrant:
    """What oauth2/access_token/ gives for an auth code: a long-term token (masked in repr and str; read it
    with ``access_token.get_secret_value()``), the advertisers it reaches and the permission ids granted."""

    access_token: SecretStr
    advertiser_ids: tuple[str, ...]
    scope: tuple[int, ...]


@dataclass(frozen=True)
class BusinessCenter:
    """A Business Center the token's user belongs to (bc/get). ``user_role``: ADMIN or STANDARD."""

    id: str
    name: str
    user_role: str | None = None
    type: str | None = None
    status: str | None = None
    timezone: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class BcAdvertiser:
    """An ad account in a Business Center (bc/asset/get, asset_type ADVERTISER) and the user's ``role`` on
    it: ADMIN, OPERATOR or ANALYST (analysts may read, not write)."""

    id: str
    name: str
    role: str | None
    bc_id: str = ""
    status: str | None = None
