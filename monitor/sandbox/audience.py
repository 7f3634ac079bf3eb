"""AUDIENCE reports (and BASIC by ``country_code``): a BASIC row split over audience dimension values.

TikTok's AUDIENCE report breaks delivery down by who saw the ads; the sandbox has no audiences, so it takes each
BASIC row (entity, time bucket) and splits its delivery over the values of the asked-for audience dimensions,
deterministically (weights from the entity, the value and nothing else), with the parts adding up exactly to the
BASIC row: impressions, clicks and conversions are whole numbers apportioned by largest remainder, spend and
purchase value in cents. Ratios are then computed per part, as TikTok does. A part with neither impressions
nor spend gets no row, like any report row.

Simulated dimensions and their values (tiktok-api.md §7.1; the Singer tap's and Airbyte's schemas):

* ``age``: AGE_13_17, AGE_18_24, AGE_25_34, AGE_35_44, AGE_45_54, AGE_55_100; ``gender``: MALE, FEMALE, NONE
  (``age`` and ``gender`` alone or together);
* ``country_code``: ISO 3166-1 alpha-2 (the advertiser's region first, then a few others); also in BASIC reports;
* ``platform``: ANDROID, IPHONE, IPAD, PC;
* ``province_id``: location ids (GeoNames ids, as TikTok's location ids are) of a few US states.

Any other audience dimension (``ac``, ``language``, ``interest_category``, ``placement``, ``dma_id``, …) or
another combination is refused with a 40002 saying it is not simulated (:func:`check_audience`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from monitor.sandbox.metrics import Totals
from monitor.sandbox.params import param_error

AGES = ("AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100")
GENDERS = ("MALE", "FEMALE", "NONE")
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "AU", "NZ", "JP")
PLATFORMS = ("ANDROID", "IPHONE", "IPAD", "PC")
PROVINCES = ("5128638", "5332921", "4736286", "4155751", "4896861")  # NY, CA, TX, FL, IL
#: dimension -> (values, base weights)
VALUES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "age": (AGES, (0.06, 0.34, 0.30, 0.16, 0.09, 0.05)),
    "gender": (GENDERS, (0.47, 0.50, 0.03)),
    "country_code": (COUNTRIES, (0.55, 0.10, 0.10, 0.07, 0.06, 0.05, 0.04, 0.03)),
    "platform": (PLATFORMS, (0.52, 0.40, 0.05, 0.03)),
    "province_id": (PROVINCES, (0.25, 0.30, 0.20, 0.15, 0.10)),
}
#: The audience dimension sets the sandbox answers (any order in the request).
COMBINATIONS = (
    frozenset({"age"}),
    frozenset({"gender"}),
    frozenset({"age", "gender"}),
    frozenset({"country_code"}),
    frozenset({"platform"}),
    frozenset({"province_id"}),
)
#: TikTok's other audience dimensions: known, not simulated.
NOT_SIMULATED = frozenset(
    {"ac", "language", "interest_category", "interest_category_v2", "placement", "dma_id", "contextual_tag",
     "behavior_id", "purchase_intention", "device_brand_id", "province_id_v2"}
)  # fmt: skip
AUDIENCE_DIMENSIONS = frozenset(VALUES)


def check_audience(report_type: str, audience: Sequence[str]) -> None:
    """Refuse (40002) an audience dimension set the sandbox does not simulate for ``report_type``."""
    if report_type == "AUDIENCE" and not audience:
        raise param_error(
            "dimensions: An AUDIENCE report needs an audience dimension (age, gender, country_code, platform or "
            "province_id)."
        )
    if report_type == "BASIC" and set(audience) - {"country_code"}:
        raise param_error(
            f"dimensions: {', '.join(a for a in audience if a != 'country_code')} needs report_type AUDIENCE."
        )
    if audience and frozenset(audience) not in COMBINATIONS:
        raise param_error(
            f"dimensions: The audience dimensions {', '.join(audience)} together are not simulated by the sandbox; "
            "it answers age, gender, age with gender, country_code, platform or province_id."
        )


def _weights(entity: str, dimension: str) -> list[float]:
    values, base = VALUES[dimension]
    out = []
    for value, weight in zip(values, base, strict=True):
        digest = hashlib.sha256(f"{entity}/{dimension}/{value}".encode()).digest()
        out.append(weight * (0.7 + 0.6 * digest[0] / 255))
    return out


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` in whole parts proportional to ``weights`` (largest remainder; the parts add up to it)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def splits(entity: str, audience: Sequence[str]) -> list[tuple[dict[str, str], float]]:
    """Every combination of the values of ``audience`` (in request order) with its weight, for one entity."""
    combos: list[tuple[dict[str, str], float]] = [({}, 1.0)]
    for dimension in audience:
        values, _ = VALUES[dimension]
        weights = _weights(entity, dimension)
        combos = [({**got, dimension: v}, w * wv) for got, w in combos for v, wv in zip(values, weights, strict=True)]
    return combos


def split_totals(totals: Totals, weights: Sequence[float]) -> list[Totals]:
    """``totals`` in parts by ``weights``: counts whole, spend and value in cents, adding up exactly."""
    spend = _apportion(round(totals.spend * 100), weights)
    value = _apportion(round(totals.value * 100), weights)
    impressions = _apportion(totals.impressions, weights)
    clicks = _apportion(totals.clicks, weights)
    conversion = _apportion(totals.conversion, weights)
    return [
        Totals(totals.seconds, spend[i] / 100, impressions[i], clicks[i], conversion[i], value[i] / 100)
        for i in range(len(weights))
    ]
