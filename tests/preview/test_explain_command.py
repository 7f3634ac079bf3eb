"""`tiktok-monitor explain RULE` end to end against the sandbox and a real database: from the API or the stored
snapshot (then without one API call), naming the missing value of an entity without report data."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from monitor.domain import Matcher, Silence
from monitor.once import run_once
from monitor.preview.explain_command import run_explain
from monitor.store.repo import Store

ADVERTISER = "7000000000000000001"  # the sandbox advertiser the preview tests configure (conftest)

RULE = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["slack"]\n'
NO_REPORT = "1801100000000000003"  # the sandbox's campaign without a report row (no spend today)


def row(text: str, entity_id: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(entity_id))


async def test_explain_from_the_api_names_the_missing_value(configure, sandbox, clock):
    settings = configure({"rule": RULE})
    out = io.StringIO()
    assert await run_explain(settings, "spending", out=out, clock=clock) == 0
    text = out.getvalue()
    assert text.startswith("rule spending (campaign): spend > 0; for 0m, cooldown 4h\n")
    assert "previewed as if empty" in text  # the database does not exist yet (and is not created)
    assert f"advertiser {ADVERTISER}: 3 campaign(s) from the API at 2026-11-24 20:00 UTC" in text
    silent = row(text, NO_REPORT)
    assert re.split(r"\s{2,}", silent)[-4:] == ["spend = no data", "no data", "inactive", "no data for spend"]
    assert row(text, "1801100000000000001").endswith("spend > 0 is true; would fire now: notify")


async def test_explain_stored_makes_no_api_call_and_sees_the_alerts(configure, sandbox, clock):
    settings = configure({"rule": RULE})
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    clock.advance(600)
    calls = len(sandbox.arrivals)
    out = io.StringIO()
    assert await run_explain(settings, "spending", stored=True, entity=NO_REPORT, out=out, clock=clock) == 0
    assert len(sandbox.arrivals) == calls
    text = out.getvalue()
    assert "from the stored snapshot of 2026-11-24 20:00 UTC (no API call), evaluated now" in text
    assert row(text, NO_REPORT).endswith("no data for spend")
    out = io.StringIO()
    assert await run_explain(settings, "spending", stored=True, advertiser=ADVERTISER, out=out, clock=clock) == 0
    assert "firing since 2026-11-24 20:00 UTC; in cooldown until 2026-11-25 00:00 UTC" in row(
        out.getvalue(), "1801100000000000001"
    )
    assert len(sandbox.arrivals) == calls


async def test_explain_stored_on_an_empty_database_says_there_is_nothing_stored(configure, sandbox, clock):
    settings = configure({"rule": RULE})
    out = io.StringIO()
    assert await run_explain(settings, "spending", stored=True, out=out, clock=clock) == 0
    assert out.getvalue().endswith("no advertiser is stored yet (none polled): nothing to explain from the database\n")
    assert sandbox.arrivals == []  # --stored: no API call


async def test_an_unknown_rule_is_a_usage_error_naming_the_rules(configure, sandbox, clock, capsys):
    settings = configure({"rule": RULE})
    assert await run_explain(settings, "spendin", out=io.StringIO(), clock=clock) == 2
    assert "unknown rule 'spendin'; the rules are: spending" in capsys.readouterr().err


async def test_explain_names_the_silence_that_mutes_an_alert(configure, sandbox, clock, database_url):
    """A live silence (stored as `silence add` stores it) is named in the entity's reasons; others are not muted."""
    settings = configure({"rule": RULE})
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0  # creates the database
    store = await Store.open(database_url)
    try:
        silence = Silence(
            (Matcher("rule", "spending"), Matcher("entity", "1801100000000000001")),
            clock.now(),
            clock.now() + timedelta(hours=2),
            "alice",
        )
        await store.silences.add(silence, clock.now())
    finally:
        await store.close()
    out = io.StringIO()
    assert await run_explain(settings, "spending", stored=True, out=out, clock=clock) == 0
    muted = row(out.getvalue(), "1801100000000000001")
    assert muted.endswith("; muted: silenced by #1 rule=spending entity=1801100000000000001")
    assert "muted" not in row(out.getvalue(), "1801100000000000002")
