"""An ad-level report of one poll, started before the poll's lists say how to read it (issue 18, item 4).

How an ad-level window is read depends on what this poll's lists say: with more ads than the sync report covers
(:attr:`TikTokClient.sync_report_ads`, 20,000) the ad list's count sends it to an async report task, and when
the advertiser has Upgraded Smart+ campaigns (campaign/get) its rows are keyed by ``ad_id_v2``. Waiting for those
lists held each poll's ad reports back until its own lists came back; polls running together (``once``) at
10 requests a second get their lists about one limiter window apart, so their ad reports were combined over
advertisers (:mod:`monitor.tiktok.report_batch`) in twos and threes, not fives.

So a poll whose previous snapshot has ads guesses (:func:`guess`) from what was seen before: the previous
snapshot's count of ads (more than the cap: the task) and whether the advertiser's latest poll found Smart+
campaigns (:mod:`monitor.smart_plus_seen`: this process's own finding while current, else the one stored with
the latest committed poll; not known: none), and starts the report at once (:func:`ad_report`). The lists then
decide as they always did, and the report is read the way they say, so the values are always those of the report
the lists choose, the same as if it had waited. What a wrong guess costs:

* a sync report guessed where the lists want the task (the advertiser passed 20,000 ads since its previous poll):
  the sync read is awaited to its end (a capped page 1 hands over to the task at once; a complete report is read
  again by task), so calls and time; and a combined call it joined with its old, smaller count may come back
  capped, sending every advertiser of that group to a call of its own;
* a task guessed where the lists want the sync report (it fell below): the task is cancelled, usually after its
  ``report/task/create/`` was sent (which counts against TikTok's tasks per account and hour and takes a turn of
  that endpoint's budget, :mod:`monitor.tiktok.endpoint_budget`); an advertiser hovering about 20,000 ads pays
  this at every poll;
* keyed by ``ad_id`` where the advertiser has Smart+ campaigns (they are new since its latest poll that could
  tell, or no poll has told yet), or by ``ad_id_v2`` where it has none any more: read again (often nothing more:
  it shared a combined call).

A poll without a previous snapshot holding ads (its first, or the first since ads are read) waits for its lists,
as before: it happens once per advertiser, and guessing the sync report would cost every large advertiser a
capped sync page per ad window on that poll, and a first poll is one of a kind anyway (a cold ``once``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from operator import countOf, itemgetter

from monitor.domain import EntityKey, Level
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import SMART_PLUS_AD_DIMENSION, Report, ReportQuery

__all__ = ["AdRead", "ad_report", "guess", "known_count", "read_report"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdRead:
    """How an ad-level report is read: through an async report task (else the sync report, and the task only if
    TikTok says it capped it) and keyed by ``ad_id_v2`` (the advertiser has Upgraded Smart+ campaigns); ``ads``:
    the count of ads it goes by (a sync report over several advertisers stays within the cap in all)."""

    use_task: bool
    smart_plus: bool
    ads: int | None = None


def guess(known: Mapping[EntityKey, object] | None, cap: int, smart_plus: bool) -> AdRead | None:
    """How this poll's ad reports are likely read, from the previous snapshot ``known`` (its ads: more than
    ``cap``, the task) and ``smart_plus`` (the advertiser's latest poll found Smart+ campaigns); None when the
    previous snapshot has no ads (none, or ads were not read): then the lists are waited for."""
    if not known:
        return None
    ads = known_count(known, Level.AD)
    if not ads:
        return None
    return AdRead(use_task=ads > cap, smart_plus=smart_plus, ads=ads)


def known_count(known: Mapping[EntityKey, object], level: Level) -> int:
    """How many of ``known``'s entities (the previous snapshot's) are at ``level``: its keys' levels counted in C
    (a generator over 100,000 keys cost about ten times as much, at every poll)."""
    return countOf(map(_LEVEL, known), level)


_LEVEL = itemgetter(0)  # an entity key's level


async def ad_report(
    client: TikTokClient, advertiser_id: str, query: ReportQuery, guessed: AdRead | None, lists: Awaitable[AdRead]
) -> Report | ApiError:
    """The report of ``query`` (ad level) read as ``lists`` (what this poll's lists say) decides; started at once
    as ``guessed`` when there is a guess, read again when the lists contradict it (the module docstring). A
    failure is returned, not raised (auth errors are). Cancelled, it leaves nothing running."""
    if guessed is None:
        return (await read_report(client, advertiser_id, query, await lists))[0]
    try:
        async with asyncio.TaskGroup() as group:
            early = group.create_task(read_report(client, advertiser_id, query, guessed))
            wanted = await lists
            if wanted.smart_plus == guessed.smart_plus and guessed.use_task <= wanted.use_task:
                result, by_task = await early
                if by_task or not wanted.use_task:
                    return result
            else:  # keyed otherwise, or a task where the sync report is wanted: not the report the lists choose
                early.cancel()
    except* Exception as failed:  # an auth error of the early read (its others are returned)
        raise failed.exceptions[0] from None
    log.info(
        "advertiser %s: the ad report started as the previous poll suggested (%s) is read again as this poll's "
        "lists say (%s)",
        advertiser_id,
        _how(guessed),
        _how(wanted),
    )
    return (await read_report(client, advertiser_id, query, wanted))[0]


async def read_report(
    client: TikTokClient, advertiser_id: str, query: ReportQuery, how: AdRead | None = None, rows: int | None = None
) -> tuple[Report | ApiError, bool]:
    """The report of one window, and whether it came from an async task: a task when ``how.use_task`` (more ads
    than the sync report covers) or when the sync report's page 1 says TikTok capped it; keyed by ``ad_id_v2``
    when ``how.smart_plus``. A failure is returned, not raised (auth errors are). The sync report may come from
    a call over other advertisers' equal reports too (:mod:`monitor.tiktok.report_batch`: polls that run
    together), with the same rows as alone; ``rows``: how many rows it likely holds (an ad-level one: ``how.ads``),
    so such a call stays within a page."""
    if how is not None and how.smart_plus:  # Smart+ ads are keyed by ad_id_v2 (ad_id: their creatives)
        query = replace(query, dimensions=(SMART_PLUS_AD_DIMENSION, *query.dimensions[1:]))
    by_task = how is not None and how.use_task
    try:
        if by_task:
            return await client.async_report(advertiser_id, query), True
        ads = how.ads if how is not None else None
        report = await client.report(advertiser_id, query, combine=True, ads=ads, rows=rows if ads is None else ads)
        if report.truncated:  # TikTok capped the sync report at 20,000 ads: the task has no cap
            log.info("advertiser %s: %s report truncated, using an async report task", advertiser_id, query.level)
            by_task = True
            report = await client.async_report(advertiser_id, query)
        return report, by_task
    except AuthError:
        raise
    except ApiError as exc:
        log.warning("advertiser %s: report failed, its values are missing this poll: %s", advertiser_id, exc)
        return exc, by_task


def _how(read: AdRead) -> str:
    return f"{'task' if read.use_task else 'sync'}, {SMART_PLUS_AD_DIMENSION if read.smart_plus else 'ad_id'}"
