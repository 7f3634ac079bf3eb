"""The levels of an ad account's tree, and the field names each level goes by."""

from __future__ import annotations

import enum


class Level(enum.StrEnum):
    """A level of the account tree. The field names are TikTok's, which are also the rule language's."""

    ADVERTISER = "advertiser"
    CAMPAIGN = "campaign"
    ADGROUP = "adgroup"
    AD = "ad"

    @property
    def id_field(self) -> str:
        return f"{self.value}_id"

    @property
    def name_field(self) -> str:
        return "advertiser_name" if self is Level.ADVERTISER else f"{self.value}_name"

    @property
    def ids_key(self) -> str:
        """Body key of the status endpoints and filtering key of the get endpoints."""
        return f"{self.value}_ids"

    @property
    def data_level(self) -> str:
        """``data_level`` of report/integrated/get."""
        return f"AUCTION_{self.value.upper()}"

    @property
    def parents(self) -> tuple[str, ...]:
        return _PARENTS[self]


_PARENTS = {
    Level.ADVERTISER: (),
    Level.CAMPAIGN: (),
    Level.ADGROUP: ("campaign_id",),
    Level.AD: ("campaign_id", "adgroup_id"),
}

#: Levels from the top of the tree down, for stable ordering.
LEVEL_ORDER = {level: rank for rank, level in enumerate(Level)}
