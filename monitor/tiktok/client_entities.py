"""The client's entity reads: campaigns, ad groups and ads (every page), the Upgraded Smart+ ones, and the
Change Log (a mixin of :class:`~monitor.tiktok.client.TikTokClient`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from monitor.domain import EntityFields, Level
from monitor.tiktok.client_paging import MAX_PAGE_SIZE, PagedClient
from monitor.tiktok.entity_rows import read_page
from monitor.tiktok.models import DEFAULT_FIELDS, Entity
from monitor.tiktok.shape import Fields

if TYPE_CHECKING:
    from monitor.tiktok.changelog import ChangeRecord

__all__ = ["SMART_PLUS_AD_PAGE_SIZE", "EntityReads", "deduplicated"]

SMART_PLUS_AD_PAGE_SIZE = 100  # smart_plus/ad/get takes at most 100 per page
_ID = itemgetter(0)  # an EntityFields' id


class EntityReads(PagedClient):
    """campaign/get, adgroup/get, ad/get, smart_plus/campaign/get, smart_plus/ad/get, changelog/task/*."""

    async def entities(
        self,
        level: Level,
        advertiser_id: str,
        *,
        fields: Iterable[str] | None = None,
        filtering: Mapping[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[Entity]:
        """All campaigns, ad groups or ads of an advertiser (every page), with ``fields`` plus the id,
        name and parent ids that an :class:`Entity` needs. Deleted ones are excluded, as the API does."""
        rows = await self.entity_rows(level, advertiser_id, fields=fields, filtering=filtering, page_size=page_size)
        return [Entity(level, row[0], advertiser_id, *row[1:]) for row in rows]

    async def entity_rows(
        self,
        level: Level,
        advertiser_id: str,
        *,
        fields: Iterable[str] | None = None,
        filtering: Mapping[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[EntityFields]:
        """What :meth:`entities` reads, as plain tuples (:func:`~monitor.tiktok.entity_rows.read_page`; the
        level and advertiser are the caller's): what a poll builds its snapshot of."""
        if level is Level.ADVERTISER:
            raise ValueError("advertisers are read with advertiser_info()")
        smart = ("campaign_automation_type",) if level is Level.CAMPAIGN else ()  # which are Upgraded Smart+
        wanted = list(
            dict.fromkeys(
                [level.id_field, level.name_field, *level.parents, *(fields or DEFAULT_FIELDS[level]), *smart]
            )
        )
        params: dict[str, Any] = {"advertiser_id": advertiser_id, "fields": wanted}
        if filtering:
            params["filtering"] = dict(filtering)

        async def convert(rows: list[Any], data: Fields) -> list[EntityFields]:  # a page as it comes (< 1 ms)
            return read_page(level, advertiser_id, rows, data)

        pages = await self._pages(
            f"{level.value}/get/", params, advertiser_id=advertiser_id, page_size=page_size, convert=convert
        )
        return deduplicated(pages.rows)  # an entity created between two page reads can shift the pages

    async def campaigns(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.CAMPAIGN, advertiser_id, **kwargs)

    async def adgroups(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.ADGROUP, advertiser_id, **kwargs)

    async def ads(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.AD, advertiser_id, **kwargs)

    async def smart_plus_campaign_ids(self, advertiser_id: str) -> frozenset[str]:
        """The ids of the advertiser's Upgraded Smart+ campaigns (smart_plus/campaign/get, every page)."""
        params = {"advertiser_id": advertiser_id, "fields": ["campaign_id"]}
        pages = await self._pages(
            "smart_plus/campaign/get/", params, advertiser_id=advertiser_id, page_size=MAX_PAGE_SIZE
        )
        return frozenset(row.id("campaign_id") for row in pages.rows)

    async def smart_plus_ads(self, advertiser_id: str) -> list[Entity]:
        """Every Upgraded Smart+ ad (smart_plus/ad/get, 100 per page): ids ``smart_plus_ad_id``, their real names.
        ad/get lists the same ads as creatives (creative ids, file names as names): see :mod:`monitor.fetch`."""
        params = {"advertiser_id": advertiser_id}
        pages = await self._pages(
            "smart_plus/ad/get/",
            params,
            advertiser_id=advertiser_id,
            page_size=SMART_PLUS_AD_PAGE_SIZE,
            max_page_size=SMART_PLUS_AD_PAGE_SIZE,
        )
        seen = {e.id: e for e in (Entity.from_smart_plus_ad(advertiser_id, row) for row in pages.rows)}
        return list(seen.values())

    async def change_log(
        self, advertiser_id: str, start: datetime, end: datetime, **options: Any
    ) -> list[ChangeRecord]:
        """Who changed what between ``start`` and ``end`` (changelog/task/*; see
        :func:`monitor.tiktok.changelog.read_change_log` for ``options``)."""
        from monitor.tiktok.changelog import read_change_log  # a poll asks only when a status or budget changed

        return await read_change_log(self.transport, advertiser_id, start, end, **options)


def deduplicated(rows: list[EntityFields]) -> list[EntityFields]:
    """``rows`` with one row per id: where an id is repeated, its last row in the place of its first. In C (a
    dict of ids made at once): 100,000 ads a poll."""
    return list(dict(zip(map(_ID, rows), rows, strict=True)).values())
