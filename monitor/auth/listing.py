"""``tiktok-monitor auth advertisers``: what the token reaches, with time zone, currency, the minimum daily budgets
the monitor checks (campaign / ad group; "TikTok decides" where it knows none), status and role."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.actions import budget
from monitor.auth.roles import Role, roles
from monitor.domain import Level
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import PermanentApiError
from monitor.tiktok.models import BcAdvertiser

log = logging.getLogger(__name__)

HEADERS = ("ADVERTISER ID", "NAME", "TIME ZONE", "CURRENCY", "MIN BUDGET", "STATUS", "ROLE")
UNKNOWN = "TikTok decides"


@dataclass(frozen=True)
class AdvertiserRow:
    id: str
    name: str
    timezone: str | None
    currency: str | None
    status: str | None
    role: Role


async def list_advertisers(client: TikTokClient, *, bc_ids: Sequence[str] | None = None) -> list[AdvertiserRow]:
    """Every advertiser the token reaches (oauth2/advertiser/get, needs app_id and secret), its details
    (advertiser/info) and its role from the Business Centers ``bc_ids`` (None: every BC of the token's user,
    bc/get). A token without Business Center access (bc/get refused) gives roles DIRECT."""
    refs = await client.advertisers()
    if not refs:
        return []
    infos = {info.id: info for info in await client.advertiser_info([r.id for r in refs])}
    assets: list[BcAdvertiser] = []
    try:
        centers = list(bc_ids) if bc_ids is not None else [bc.id for bc in await client.business_centers()]
        for bc_id in centers:
            assets += await client.bc_advertisers(bc_id)
    except PermanentApiError as exc:
        log.warning("Business Center roles unavailable, showing DIRECT: %s", exc)
    role_of = roles(refs, assets)
    rows = []
    for ref in refs:
        info = infos.get(ref.id)
        rows.append(
            AdvertiserRow(
                id=ref.id,
                name=(info.name if info else "") or ref.name,
                timezone=info.timezone if info else None,
                currency=info.currency if info else None,
                status=info.status if info else None,
                role=role_of[ref.id],
            )
        )
    return rows


def min_budget(currency: str | None, configured: budget.Minimums = budget.NO_MINIMUMS) -> str:
    """The minimum daily budgets the monitor checks in ``currency``: "50.00 / 20.00" (campaign / ad group)."""
    low = [budget.minimum_budget(level, currency, configured) for level in (Level.CAMPAIGN, Level.ADGROUP)]
    if None in low:
        return UNKNOWN
    return " / ".join(budget.money(value, currency).removesuffix(f" {currency}") for value in low)


def render_advertisers(rows: Iterable[AdvertiserRow], configured: budget.Minimums = budget.NO_MINIMUMS) -> str:
    """A plain-text table (columns aligned also for wide CJK names), with notes on read-only accounts and on
    currencies whose minimum budget the monitor does not know (``configured``: ``[actions] min_budget``)."""
    rows = list(rows)
    if not rows:
        return "The token reaches no advertisers. Authorize the app for an ad account: tiktok-monitor auth login\n"
    table = [HEADERS] + [
        (
            r.id,
            _clean(r.name),
            r.timezone or "-",
            r.currency or "-",
            min_budget(r.currency, configured),
            r.status or "-",
            str(r.role),
        )
        for r in rows
    ]
    widths = [max(_width(line[i]) for line in table) for i in range(len(HEADERS))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table]
    unknown = sorted({r.currency or "?" for r in rows if min_budget(r.currency, configured) == UNKNOWN})
    lines += ["", "MIN BUDGET: the smallest daily budget the monitor sets, campaign / ad group, in the currency."]
    if unknown:
        lines.append(
            f"{UNKNOWN} ({', '.join(unknown)}): the monitor knows no minimum there; a budget change is sent and "
            "TikTok's answer decides. Set [actions] min_budget to check before sending."
        )
    analysts = sum(1 for r in rows if not r.role.can_write)
    if analysts:
        lines += ["", f"{analysts} advertiser(s) with role ANALYST: read-only, the monitor takes no actions there."]
    return "\n".join(lines) + "\n"


def _clean(text: str) -> str:
    """Names are the advertiser's: no control characters or line breaks in a terminal table."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text) or "-"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
