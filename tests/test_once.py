"""`once` end to end against the sandbox: one cycle, a summary, an exit code that tells the truth."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

from monitor.config import load_settings
from monitor.notify.outbox import SendReport
from monitor.once import render_summary, run_once
from monitor.polls import PollOutcome, PollResult, PollSummary
from monitor.sandbox import Fault
from monitor.store.repo import Store

IDS = ["7000000000000000001", "7000000000000000002"]
RULE = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["webhook"]\n'


def write_config(tmp_path, base_url: str) -> object:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(RULE)
    ids = ", ".join(f'"{i}"' for i in IDS)
    (tmp_path / "config.toml").write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{ids}]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        '[webhook]\nurl = "http://127.0.0.1:9/unreachable"\n[notify]\nretry_first = "1h"\n'
    )
    return load_settings(tmp_path / "config.toml")


async def test_once_polls_every_advertiser_and_summarizes(tmp_path, sandbox, clock):
    settings = write_config(tmp_path, sandbox.base_url)
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    text = out.getvalue()
    assert "Acme Outdoor US" in text and "Kiwi Coffee" in text
    assert "2 advertiser(s), 0 failed" in text
    assert "firing spending campaign" in text
    # the webhook is unreachable: the messages stay queued for a retry, nothing is lost
    assert "0 delivered" in text and "to retry" in text


async def test_once_exits_1_when_a_poll_fails_and_says_why(tmp_path, sandbox, clock):
    settings = write_config(tmp_path, sandbox.base_url)
    sandbox.revoke_token()
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 1
    text = out.getvalue()
    assert text.count("FAILED") == 2
    assert "re-authorize" in text
    assert "sandbox-token" not in text
    # and people are told, once per advertiser, through the configured channels (queued: the webhook is down)
    store = await Store.open(settings.storage.url)
    try:
        rows = await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=1))
    finally:
        await store.close()
    told = sorted((row.payload["kind"], row.payload["subject"]) for row in rows if row.payload["type"] == "ops")
    assert told == [("token_revoked", IDS[0]), ("token_revoked", IDS[1])]


async def test_once_fails_only_the_advertiser_whose_answer_is_malformed_in_one_line(tmp_path, sandbox, clock, caplog):
    # issue 13: a campaign row with "advertiser_id": true printed a traceback; now it is a typed error naming the
    # endpoint and the field, that advertiser's poll fails (exit 1) and the other one is polled as usual
    settings = write_config(tmp_path, sandbox.base_url)
    hostile = [{"op": "add", "path": "/data/list/0/advertiser_id", "value": True}]
    sandbox.faults.add(Fault(kind="patch", path="campaign/get/", advertiser_id=IDS[1], patch=hostile, count=5))
    out = io.StringIO()
    with caplog.at_level(logging.INFO):
        assert await run_once(settings, out=out, clock=clock) == 1
    lines = out.getvalue().splitlines()
    failed = [line for line in lines if "FAILED" in line]
    assert len(failed) == 1 and failed[0].startswith(IDS[1])
    reason = failed[0].split("FAILED: ", 1)[1]
    assert reason.startswith(
        "BadResponseError: campaign/get/: data.list[0].advertiser_id is a bool, expected a string or number "
        f"(advertiser {IDS[1]}) [request_id "
    )
    assert any(line.startswith(IDS[0]) and "Acme Outdoor US" in line for line in lines)
    assert "2 advertiser(s), 1 failed" in out.getvalue()
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback anywhere
    poll_failures = [
        r.getMessage() for r in caplog.records if r.name == "monitor.poller" and "failed" in r.getMessage()
    ]
    assert poll_failures == [f"poll of advertiser {IDS[1]} failed: {reason}"]


async def test_each_row_counts_the_calls_of_its_own_poll(tmp_path, sandbox, clock):
    settings = write_config(tmp_path, sandbox.base_url)
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0  # the two polls run at the same time
    rows = {
        line.split()[0]: line.split()
        for line in out.getvalue().splitlines()
        if line.split()[:1] in ([IDS[0]], [IDS[1]])
    }
    for advertiser_id in IDS:
        calls = int(rows[advertiser_id][-3])  # the "calls" column
        own = sum(1 for a in sandbox.arrivals if a.advertiser_id == advertiser_id)
        assert calls == own, (advertiser_id, calls, own)  # advertiser/info was read for both at once, before


async def test_once_reads_every_advertisers_info_in_one_call(tmp_path, sandbox, clock):
    """advertiser/info takes 100 advertisers a call: ``once`` reads them all at once and stores them in one
    transaction, rather than one call and one transaction per advertiser (issue 18)."""
    settings = write_config(tmp_path, sandbox.base_url)
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    infos = [a for a in sandbox.arrivals if a.path == "advertiser/info/"]
    assert len(infos) == 1
    store = await Store.open(settings.storage.url)
    try:
        names = {record.id: record.name for record in await store.advertisers()}
    finally:
        await store.close()
    assert names == {IDS[0]: "Acme Outdoor US", IDS[1]: "Kiwi Coffee Roasters"}


async def test_once_reads_the_info_of_an_advertiser_left_out_of_the_answer_in_its_own_poll(tmp_path, sandbox, clock):
    settings = write_config(tmp_path, sandbox.base_url)
    keep_first = [{"op": "remove", "path": "/data/list/1"}]  # the answer for both names only the first
    sandbox.faults.add(Fault(kind="patch", path="advertiser/info/", patch=keep_first, count=1))
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert "Acme Outdoor US" in out.getvalue() and "Kiwi Coffee" in out.getvalue()
    infos = [a for a in sandbox.arrivals if a.path == "advertiser/info/"]
    assert len(infos) == 2  # the one for both, then the left-out advertiser's own


async def test_once_polls_as_usual_when_reading_every_info_at_once_fails(tmp_path, sandbox, clock):
    settings = write_config(tmp_path, sandbox.base_url)
    sandbox.faults.add(Fault(kind="api_code", path="advertiser/info/", code=40002, count=1))
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert "2 advertiser(s), 0 failed" in out.getvalue()
    infos = [a for a in sandbox.arrivals if a.path == "advertiser/info/"]
    assert len(infos) == 3  # the one that failed, then each poll's own


def test_the_summary_shows_an_advertisers_name_as_one_line_without_bidi_controls():
    """Names from TikTok are data: a newline or a right-to-left override in an advertiser's name cannot forge or
    reorder the summary's lines (issue 15, item 2)."""
    name = "Acme\u202e\nFORGED 7000000000000000009 ok"
    summary = PollSummary("7000000000000000001", name, entities=3)
    outcome = PollOutcome("7000000000000000001", PollResult.OK, summary=summary, advertiser_name=name)
    text = render_summary(["7000000000000000001"], [outcome], SendReport(), calls=1)
    row = next(line for line in text.splitlines() if line.startswith("7000000000000000001"))
    assert "Acme" in row and "\u202e" not in text and not any(line.startswith("FORGED") for line in text.splitlines())


async def test_once_drops_an_expired_approval_and_tells_the_rules_channel_once(tmp_path, sandbox, clock):
    settings = write_config(tmp_path, sandbox.base_url)
    approve = '\naction = "pause"\napprove_within = "5m"\n[rule.match]\nids = ["1801100000000000001"]\n'
    (tmp_path / "rules" / "a.toml").write_text(RULE + approve)
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert "1 awaiting approval" in out.getvalue()
    assert not any(r.path == "campaign/status/update/" for r in sandbox.arrivals)
    for _ in range(2):  # the second cycle finds nothing more to drop
        clock.advance(10 * 60)
        assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    store = await Store.open(settings.storage.url)
    try:
        [dropped] = await store.approvals.list()
        rows = await store.outbox.fetch_due(clock.now() + timedelta(days=1))
    finally:
        await store.close()
    assert dropped.state.value == "expired" and dropped.decided_by == "expiry"
    told = [r for r in rows if r.payload["type"] == "ops" and r.payload["subject"] == f"approval:{dropped.id}"]
    assert [r.channel for r in told] == ["webhook"] and "the action was dropped" in told[0].payload["detail"]
    assert not any(r.path == "campaign/status/update/" for r in sandbox.arrivals)
