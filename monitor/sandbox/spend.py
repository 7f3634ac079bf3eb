"""Reading spend out of a :class:`CampaignState`: cumulative money of an ad or an ad group at given times.

Positions are F-space values (``curve.F(t)``), so one ledger query per boundary serves every ad of an ad group:
an ad that never had a history of its own spends ``ad.rate × |runs ∩ [F(create), x)|`` up to ``x``.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.sandbox.entities import Ad, AdGroup
from monitor.sandbox.ledger import CampaignState


def plain_exposure(state: CampaignState, g: AdGroup, xs: Sequence[float]) -> list[float]:
    """|runs ∩ [F(ads' create time), x)| for each x: multiply by an ad's rate for its cumulative spend."""
    if not g.ads:
        return [0.0] * len(xs)
    runs = state.runs[g.adgroup_id]
    start = g.campaign.advertiser.curve.F(g.ads[0].create_time)
    return [runs.measure(start, x) for x in xs]


def special_exposure(state: CampaignState, ad: Ad, xs: Sequence[float]) -> list[float]:
    """|runs ∩ the ad's own active spans ∩ (-inf, x)| for each x."""
    F = ad.adgroup.campaign.advertiser.curve.F
    runs = state.runs[ad.adgroup.adgroup_id]
    spans = [(F(a), F(b)) for a, b in ad.active_spans()]
    return [sum(runs.measure(a, min(b, x)) for a, b in spans) for x in xs]


def ad_cumulative(state: CampaignState, ad: Ad, xs: Sequence[float]) -> list[float]:
    """Cumulative spend of ``ad`` since creation at each F-position in ``xs``."""
    exposure = special_exposure(state, ad, xs) if ad.is_special else plain_exposure(state, ad.adgroup, xs)
    return [ad.rate * e for e in exposure]
