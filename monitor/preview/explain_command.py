"""``tiktok-monitor explain RULE``: why the rule fires or not for each entity, from the API or the last snapshot.

It writes nothing anywhere: the database is read-only (:mod:`monitor.preview.readonly`: a database that does not
exist yet is explained as empty). Without ``--stored`` it reads the API for the rule's level only (the entities
and the report windows the rule reads) and compares with the newest stored snapshot as ``prev``; with
``--stored`` it makes no API call and explains the newest stored snapshot (against the one before it) as a
poll at this moment would see it. The explanation itself is :func:`monitor.preview.explain.explain_rule`.
"""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.domain import Snapshot
from monitor.errors import ConfigError, MonitorError
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import ruleset_plan
from monitor.preview.explain import explain_rule
from monitor.preview.explain_table import render_table, rule_header
from monitor.preview.parts import PreviewParts
from monitor.rules.loader import configured_channels, load_rules
from monitor.rules.model import Rule, RuleSet
from monitor.rules.mute import Muting
from monitor.tiktok.models import AdvertiserInfo
from monitor.wiring import open_preview

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


async def run_explain(
    settings: Settings,
    rule_name: str,
    *,
    advertiser: str | None = None,
    entity: str | None = None,
    stored: bool = False,
    out: TextIO | None = None,
    clock: Clock | None = None,
) -> int:
    """Print the explanation of ``rule_name`` for every advertiser (or ``advertiser``); 2 for an unknown rule,
    1 when an advertiser could not be read, else 0."""
    out = out or sys.stdout
    clock = clock or SystemClock()
    try:
        ruleset = load_rules(settings.monitor.rules, channels=configured_channels(settings))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    rule = ruleset.get(rule_name)
    if rule is None:
        print(f"unknown rule {rule_name!r}; the rules are: {', '.join(r.name for r in ruleset)}", file=sys.stderr)
        return EXIT_INVALID
    parts = await open_preview(settings, clock)
    code = EXIT_OK
    try:
        out.write(rule_header(rule) + "\n")
        if parts.note:
            out.write(f"database: {parts.note}\n")
        if advertiser is not None:
            ids = [advertiser]
        elif stored:
            ids = [record.id for record in await parts.store.advertisers()]
            if not ids:
                out.write("no advertiser is stored yet (none polled): nothing to explain from the database\n")
        else:
            ids = list((await parts.roster.refresh()).owners)
        for advertiser_id in ids:
            try:
                out.write(await _one(parts, settings, rule, advertiser_id, entity, stored, clock))
            except MonitorError as exc:
                out.write(f"\nadvertiser {advertiser_id}: could not be read: {type(exc).__name__}: {exc}\n")
                code = EXIT_FAILED
    finally:
        await parts.close()
    return code


async def _one(
    parts: PreviewParts,
    settings: Settings,
    rule: Rule,
    advertiser_id: str,
    entity: str | None,
    stored: bool,
    clock: Clock,
) -> str:
    store, now = parts.store, clock.now()
    latest = await store.latest(advertiser_id)
    notes: list[str] = []
    if stored:
        record = await store.advertiser(advertiser_id)
        info = AdvertiserInfo(
            advertiser_id,
            (record.name if record else None) or "",
            None,
            record.currency if record else None,
            record.timezone if record else None,
        )
        if latest is None:
            return f"\nadvertiser {advertiser_id}: no stored snapshot (not polled yet): nothing to explain\n"
        current, previous = latest, await store.previous_snapshot(advertiser_id)
        source = f"the stored snapshot of {latest.taken_at:%Y-%m-%d %H:%M} UTC (no API call), evaluated now"
    else:
        client = parts.clients[parts.roster.account_of(advertiser_id)]
        infos = await client.advertiser_info([advertiser_id])
        info = next((i for i in infos if i.id == advertiser_id), AdvertiserInfo(advertiser_id, "", None, None, None))
        fetched = await fetch_snapshot(client, info, ruleset_plan(RuleSet([rule])), now)
        current = Snapshot(advertiser_id, 0, now, {s.key: s for s in fetched.states})
        previous = latest
        notes += [f"no data: {error}" for error in fetched.errors]
        source = f"the API at {now:%Y-%m-%d %H:%M} UTC"
    dry_run = None if settings.actions.enabled else "[actions] enabled = false"
    # live silences and the rule's active time mute its alerts as in a poll (names of entities gone: the last ones)
    names = {key: e.name for key, e in (previous.entities.items() if previous else ()) if e.name is not None}
    mute = Muting.of(advertiser_id, now, info.timezone, await store.silences.active(now), names)
    explanations = explain_rule(
        rule,
        current,
        previous,
        await store.alerts.load(advertiser_id),
        await store.holds.active(advertiser_id, now),
        now,
        zone=info.timezone,
        currency=info.currency,
        entity_id=entity,
        dry_run=dry_run or parts.roster.read_only(info),
        silenced_by=lambda muted, state: mute.reason(muted, state.level, state.id, state),
    )
    head = f"\nadvertiser {advertiser_id}: {len(explanations)} {rule.level.value}(s) from {source}"
    lines = [head, *notes]
    if not explanations:
        scope = f"entity {entity} is not" if entity else f"no {rule.level.value} is"
        lines.append(f"{scope} in the rule's scope for this advertiser")
        return "\n".join(lines) + "\n"
    return "\n".join(lines) + "\n" + render_table(explanations)
