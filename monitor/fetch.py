"""Step 1 of a poll: read what the rules need for one advertiser and turn it into entity states.

A :class:`FetchPlan` says which levels to list (with which fields) and which report windows and metrics to
read per level; the rule set derives it, so a poll fetches only what some rule reads. Lists of campaigns,
ad groups and ads are required: if one fails the poll fails and the previous snapshot stays the latest. A
report that fails leaves its window *missing* for every entity (never zero) and is recorded as an error.

Windows are dates in the advertiser's own time zone (:mod:`monitor.domain.windows`). Hourly windows
(``this_hour``, ``last_hour``, ``last_3h``, ``last_6h``) share a level's ``stat_time_hour`` reports, one per
local date they cover (:mod:`monitor.fetch_hours`). Baselines (``baseline(spend)``) read past days' hourly
reports, each fetched once and kept in the store (:mod:`monitor.fetch_baseline`).

**Calls** (issue 18): a poll makes the pages of each level's list plus, per window some rule reads at a level,
the report's pages, plus, when some rule reads an hourly window at a level, one report per local date those
windows cover (1, or 2 across local midnight), and no more. The sync report covers at most 20,000 ads
(:attr:`TikTokClient.sync_report_ads`): past it an ad-level report goes straight to an async report task
(create, check, download) instead of paging a capped sync report first; should a sync report still say it was
capped, it stops after page 1 and the task follows. The ad list's count decides; a poll with a previous snapshot
starts its ad reports at once as that snapshot's count suggests, checked against the list when it comes
(:mod:`monitor.fetch_ad_reports`: combined with other polls' equal reports, not held back by the lists).

**Upgraded Smart+** (tiktok-api.md §12): campaign/get says which campaigns are Upgraded Smart+
(``campaign_automation_type``; a poll that lists ad groups or ads but not campaigns asks
smart_plus/campaign/get instead). Their campaigns and ad groups are read as any other, marked ``smart_plus``
(so writes go to the smart_plus/* endpoints). Their ads are not: ad/get lists them as creatives (creative ids,
file names as names), so those rows are dropped and smart_plus/ad/get gives the real ads (``smart_plus_ad_id``
and name); the ad-level report then uses the ``ad_id_v2`` dimension, which keys Smart+ ads by that id (``ad_id``
would give creative ids), and rows are keyed by ``ad_id_v2`` (``ad_id`` when a row lacks it). Accounts without
Smart+ campaigns make exactly the calls they made before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from monitor.domain import EntityFields, EntityKey, EntityState, Level, window_dates
from monitor.domain.building import Known
from monitor.domain.ratios import with_denominators
from monitor.fetch_ad_reports import AdRead, ad_report, guess, known_count, read_report
from monitor.fetch_baseline import baseline_windows, with_baselines
from monitor.fetch_hours import hourly_queries, hourly_windows
from monitor.fetch_states import (
    add_hours,
    advertiser_state,
    entity_state,
    level_states,
    smart_plus,
)
from monitor.fetch_windows import LevelReports
from monitor.store.hourly import HourlyHistory
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.entity_rows import entity_fields
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import AdvertiserInfo, Report, ReportQuery

__all__ = ["FetchPlan", "FetchResult", "LevelPlan", "entity_state", "fetch_snapshot", "window_query"]

log = logging.getLogger(__name__)
_CAMPAIGN_ID, _SMART_PLUS = 6, 8  # positions in an EntityFields tuple


def window_query(window: str, level: Level, metrics: tuple[str, ...], today: date) -> ReportQuery:
    """The report query for one window (see :func:`monitor.domain.window_dates`), ``today`` being the
    advertiser's local date. It asks for each ratio's denominator too, so a ratio over a zero count is read as
    no data (:mod:`monitor.domain.ratios`)."""
    metrics = with_denominators(metrics)
    dates = window_dates(window, today)
    if dates is None:
        return ReportQuery(level, metrics, lifetime=True)
    return ReportQuery(level, metrics, *dates)


@dataclass(frozen=True)
class LevelPlan:
    """What to read at one level: entity fields (for campaign|adgroup|ad/get) and metrics per window."""

    fields: tuple[str, ...] = ()
    windows: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchPlan:
    levels: Mapping[Level, LevelPlan]


@dataclass(frozen=True)
class FetchResult:
    """Entity states for the snapshot, and the errors that left data missing; ``smart_plus``: whether the
    advertiser has Upgraded Smart+ campaigns (None: this poll could not tell, or read no ads, ad groups or
    campaigns); ``finite``: every float of the states' metrics is known finite (what the store may skip
    checking: :meth:`~monitor.store.poll_writer.PollWriter.save`); False when not known (baseline windows are not
    checked here)."""

    states: tuple[EntityState, ...]
    errors: tuple[str, ...]
    smart_plus: bool | None = None
    finite: bool = False


async def fetch_snapshot(
    client: TikTokClient,
    advertiser: AdvertiserInfo,
    plan: FetchPlan,
    now: datetime,
    history: HourlyHistory | None = None,
    *,
    known: Mapping[EntityKey, Known] | None = None,
    smart_plus_known: Callable[[], Awaitable[bool | None]] | None = None,
) -> FetchResult:
    """Read everything ``plan`` asks for. Raises when an entity list cannot be read (the poll fails);
    a failed report only makes its window missing. Auth errors always propagate. Baseline windows are read from
    and kept in ``history`` (:mod:`monitor.fetch_baseline`; None: they stay missing). ``known``: the previous
    snapshot's entities (states, or rows read lean: monitor.store.lean), whose id and name strings the new states
    share where equal (:func:`~monitor.domain.building.build_states`).
    ``smart_plus_known``: asked whether the advertiser's latest poll found Upgraded Smart+ campaigns (None: not known;
    :mod:`monitor.smart_plus_seen`), only when ad-level reports start before the lists (a previous snapshot with
    ads); not given: guessed without."""
    today, zone = advertiser.local_date(now), advertiser.zone()
    listed = [level for level in plan.levels if level is not Level.ADVERTISER]
    hourly = {level: hourly_windows(lp.windows) for level, lp in plan.levels.items()}
    baselines = {level: baseline_windows(lp.windows) for level, lp in plan.levels.items()}
    reports = [
        (level, window, metrics, window_query(window, level, metrics, today))
        for level, lp in plan.levels.items()
        for window, metrics in lp.windows.items()
        if window not in hourly[level] and window not in baselines[level]
    ]
    reports += [
        (level, f"hours of {day.isoformat()}", (), query)
        for level, windows in hourly.items()
        for day, query in hourly_queries(level, windows, now, zone)
    ]
    loop = asyncio.get_running_loop()
    ad_count: asyncio.Future[int] = loop.create_future()
    smart: asyncio.Future[frozenset[str]] = loop.create_future()  # the Upgraded Smart+ campaigns' ids
    errors: list[str] = []
    found: list[bool] = []  # any Smart+ campaigns found, once they were read (not read: not known)

    def found_smart(ids: frozenset[str] | None) -> None:  # and stored with the poll: the next poll guesses from it
        smart.set_result(ids or frozenset())
        if ids is not None:  # None: smart_plus/campaign/get failed, the poll cannot tell
            found.append(bool(ids))

    async def listing(level: Level) -> list[EntityFields]:
        rows = await client.entity_rows(level, advertiser.id, fields=plan.levels[level].fields or None)
        if level is Level.CAMPAIGN:
            found_smart(frozenset(row[0] for row in rows if row[_SMART_PLUS]))
        elif level is Level.ADGROUP:
            if smart_ids := await smart:
                rows = [smart_plus(row) if row[_CAMPAIGN_ID] in smart_ids else row for row in rows]
        elif level is Level.AD:
            ad_count.set_result(len(rows))
            smart_ids = await smart
            if smart_ids:  # ad/get's rows of Smart+ campaigns are creatives: the ads come from smart_plus/ad/get
                plain = [row for row in rows if row[_CAMPAIGN_ID] not in smart_ids]
                rows = plain + [entity_fields(e) for e in await client.smart_plus_ads(advertiser.id)]
        return rows

    async def smart_campaigns() -> list[EntityFields]:
        found_smart(await _smart_plus_ids(client, advertiser.id, errors))
        return []

    async def ad_read() -> AdRead:  # what the lists say: the ad count (sync report or task), Smart+ (ad_id_v2)
        ads = await ad_count if Level.AD in listed else None
        return AdRead(ads is not None and ads > client.sync_report_ads, bool(await smart), ads)

    guessed = None
    if any(level is Level.AD for level, *_ in reports):  # how the previous snapshot suggests to read them
        guessed = guess(known, client.sync_report_ads, smart_plus=False)
        if guessed is not None and smart_plus_known is not None and await smart_plus_known():
            guessed = replace(guessed, smart_plus=True)

    # the rows a window's report likely holds: the level's entities in the previous snapshot (a report combined
    # over advertisers stays within a page: monitor.tiktok.report_batch; none known: no estimate). Counted only
    # at the levels above the ads that read a window: an ad-level report goes by guess's count of the ads
    counted = {level for level, window, *_ in reports if level is not Level.AD and window in plan.levels[level].windows}
    known_rows: dict[Level, int] = {}
    if known:
        known_rows = {level: count for level in counted if (count := known_count(known, level))}

    async def reading(level: Level, query: ReportQuery, rows: int | None) -> Report | ApiError:
        if level is Level.AD:
            return await ad_report(client, advertiser.id, query, guessed, ad_read())
        return (await read_report(client, advertiser.id, query, rows=rows))[0]

    # each report read into its level's windows as it comes, and let go (monitor.fetch_windows)
    read_in = {level: LevelReports(level) for level in plan.levels}
    report_errors: dict[int, str] = {}  # by the report's index: errors in the plan's order, whatever order they came in

    async def report(index: int, level: Level, window: str, wanted: tuple[str, ...], query: ReportQuery) -> bool:
        """Read one report into the windows; whether every float it put there is finite."""
        got = await reading(level, query, known_rows.get(level) if window in plan.levels[level].windows else None)
        read: bool | ApiError | None = got if isinstance(got, ApiError) else None
        if isinstance(got, Report):
            if window in plan.levels[level].windows:
                read = await read_in[level].join(got, window, wanted)
            else:  # an hourly report
                read = await read_in[level].add_hours(got)
        del got  # (let go once read in)
        if isinstance(read, ApiError):
            report_errors[index] = f"{level.value} report for {window}: {read}"
        return read is not False

    if Level.CAMPAIGN not in listed:
        if {Level.ADGROUP, Level.AD} & set(listed):
            lists = [*(listing(level) for level in listed), smart_campaigns()]
        else:
            smart.set_result(frozenset())
            lists = [listing(level) for level in listed]
    else:
        lists = [listing(level) for level in listed]
    entity_lists, read = await _all_or_nothing(lists, [report(i, *r) for i, r in enumerate(reports)])
    errors += (report_errors[index] for index in sorted(report_errors))
    finite = all(read)  # every float put into a window so far is finite (each report's say; the hours' below)
    windows = {level: levels_reports.windows for level, levels_reports in read_in.items()}
    hours = {level: read_in[level].hours for level in hourly}
    read_in.clear()  # (each level's windows handed over to its states below, its first report's ids let go)
    states: list[EntityState] = []
    for index, level in enumerate(listed):
        rows, entity_lists[index] = entity_lists[index], []
        if hourly[level]:
            ids = [row[0] for row in rows]
            finite = add_hours(windows[level], ids, hours.pop(level), hourly[level], now, zone) and finite
        states += await level_states(level, advertiser.id, rows, windows.pop(level), known)
        del rows
    if Level.ADVERTISER in plan.levels:
        if hourly[Level.ADVERTISER]:
            own, wanted_hours = windows[Level.ADVERTISER], hourly[Level.ADVERTISER]
            finite = add_hours(own, [advertiser.id], hours[Level.ADVERTISER], wanted_hours, now, zone) and finite
        states.append(advertiser_state(advertiser, windows[Level.ADVERTISER].get(advertiser.id)))
    if history is not None and any(baselines.values()):
        states, failed = await with_baselines(client, history, advertiser, baselines, states, now)
        errors += failed
        finite = False  # baselines are worked out of stored hours: not vouched for here, the store checks
    return FetchResult(tuple(states), tuple(errors), found[0] if found else None, finite)


async def _all_or_nothing(
    lists: list[Coroutine[Any, Any, list[EntityFields]]], reports: list[Coroutine[Any, Any, bool]]
) -> tuple[list[list[EntityFields]], list[bool]]:
    """Run every read concurrently; when one raises, cancel the others (a failed poll must not leave requests
    running after it released its lease) and raise that error, not an ExceptionGroup."""
    try:
        async with asyncio.TaskGroup() as group:
            list_tasks = [group.create_task(c) for c in lists]
            report_tasks = [group.create_task(c) for c in reports]
    except* Exception as failed:
        raise failed.exceptions[0] from None
    return [t.result() for t in list_tasks], [t.result() for t in report_tasks]


async def _smart_plus_ids(client: TikTokClient, advertiser_id: str, errors: list[str]) -> frozenset[str] | None:
    """The Upgraded Smart+ campaigns' ids when campaigns are not listed; None (and an error noted) when
    smart_plus/campaign/get fails: Smart+ ads then show as their creatives for this poll."""
    try:
        return await client.smart_plus_campaign_ids(advertiser_id)
    except AuthError:
        raise
    except ApiError as exc:
        log.warning("advertiser %s: Upgraded Smart+ campaigns unknown this poll: %s", advertiser_id, exc)
        errors.append(f"Upgraded Smart+ campaigns: {exc}")
        return None
