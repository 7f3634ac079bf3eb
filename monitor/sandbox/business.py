"""The sandbox's Business Centers (agency accounts) and the role the token's user has on each advertiser.

Two BCs, so agencies' "several Business Centers" is exercised (shapes: tiktok-api.md §2.4)::

    7200000000000000001  Northwind Media Agency  AGENCY  user ADMIN
        NY  7000000000000000001  ADMIN
        AKL 7000000000000000002  OPERATOR
        HNL 7000000000000000003  OPERATOR
        (the benchmark advertiser, when present: ADMIN)
    7200000000000000002  Pacific Partners        NORMAL  user STANDARD
        HNL 7000000000000000003  ANALYST     (OPERATOR through Northwind: the stronger role counts)
        TYO 7000000000000000004  ANALYST     <- reachable only as an analyst: no write actions

The agency BCs manage advertisers owned by each advertiser's own BC (advertiser/info ``owner_bc_id``), so
assets are ``relation_type`` OWNER_PARTNER.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from monitor.sandbox.settings import LARGE_ADVERTISER_ID

NY, AKL, HNL, TYO = (f"700000000000000000{i}" for i in range(1, 5))
AGENCY_BC_ID = "7200000000000000001"
PARTNER_BC_ID = "7200000000000000002"
#: The advertiser the token's user reaches only as ANALYST.
ANALYST_ONLY_ADVERTISER_ID = TYO


@dataclass(frozen=True, slots=True)
class BusinessCenter:
    bc_id: str
    name: str
    company: str
    type: str
    currency: str
    registered_area: str
    timezone: str
    user_role: str  # ADMIN | STANDARD
    finance_role: str  # MANAGER | ANALYST
    assets: tuple[tuple[str, str], ...]  # (advertiser_id, advertiser_role) in listing order

    def info(self) -> dict[str, str]:
        return {
            "bc_id": self.bc_id,
            "name": self.name,
            "company": self.company,
            "currency": self.currency,
            "registered_area": self.registered_area,
            "status": "ENABLE",
            "timezone": self.timezone,
            "type": self.type,
        }


def build_business_centers(advertiser_ids: Collection[str]) -> tuple[BusinessCenter, ...]:
    """The BCs, holding only advertisers that exist in the world."""
    agency = [(NY, "ADMIN"), (AKL, "OPERATOR"), (HNL, "OPERATOR"), (LARGE_ADVERTISER_ID, "ADMIN")]
    partner = [(HNL, "ANALYST"), (TYO, "ANALYST")]
    return (
        BusinessCenter(
            AGENCY_BC_ID,
            "Northwind Media Agency",
            "Northwind Media Ltd.",
            "AGENCY",
            "USD",
            "US",
            "Etc/GMT+5",
            "ADMIN",
            "MANAGER",
            tuple(a for a in agency if a[0] in advertiser_ids),
        ),
        BusinessCenter(
            PARTNER_BC_ID,
            "Pacific Partners",
            "Pacific Partners K.K.",
            "NORMAL",
            "JPY",
            "JP",
            "Etc/GMT-9",
            "STANDARD",
            "ANALYST",
            tuple(a for a in partner if a[0] in advertiser_ids),
        ),
    )
