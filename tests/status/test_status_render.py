"""The status renderers on values: the text a person reads, and JSON that validates against docs/status.schema.json."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

from schema_check import load_schema, problems

from monitor.domain import Hold, Level, Matcher, Silence
from monitor.domain.approvals import Approval, PlannedChange
from monitor.status.render_json import render_json, to_json
from monitor.status.render_text import render_text
from monitor.status.report import (
    AdvertiserStatus,
    AlertStatus,
    Backlog,
    BreakerView,
    LastPoll,
    Paused,
    Problem,
    StatusReport,
)

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ADV, OTHER = "7000000000000000001", "7000000000000000002"

REPORT = StatusReport(
    now=NOW,
    interval=5 * MIN,
    replicas=("h:1", "h:2"),
    advertisers=(
        AdvertiserStatus(ADV, "Acme\nFAKE LINE", LastPoll(NOW - 2 * MIN, "ok"), NOW + 3 * MIN, polled_by="h:1"),
        AdvertiserStatus(
            OTHER,
            None,
            LastPoll(NOW - timedelta(days=1), "failed", "TransientApiError: busy"),
            NOW + 30 * timedelta(seconds=1),
            paused=Paused("account not active: advertiser/info status STATUS_LIMIT", NOW - 60 * MIN),
            problems=(
                Problem("account_limited", NOW - 60 * MIN, "advertiser/info status STATUS_LIMIT", 0),
                Problem("advertiser_unreachable", NOW - 10 * MIN, "TransientApiError: busy", 2),
            ),
        ),
    ),
    alerts=(
        AlertStatus(
            ADV,
            "overspend",
            "critical",
            "firing",
            "campaign",
            "1801",
            NOW - 20 * MIN,
            NOW - 20 * MIN,
            {"spend": 120.5, "conversions": 0},
            "Summer\u202esale\r\nx",  # its name, as TikTok has it
        ),
        AlertStatus(ADV, "low-ctr", None, "pending", "ad", "1803", NOW - 5 * MIN, None, {"ctr": None}),
        AlertStatus(
            ADV, "overspend", "critical", "resolving", "campaign", "1802", NOW - MIN, NOW - 30 * MIN, {"spend": 99.0}
        ),
    ),
    silences=(
        Silence(
            (Matcher("rule", "low-ctr"), Matcher("name", "Summer *", is_glob=True)),
            NOW - 60 * MIN,
            NOW + 12 * 60 * MIN,
            "alice",
            "launch\nweek",
            id=4,
        ).to_json(),
        Silence((Matcher("advertiser", ADV),), NOW + 60 * MIN, NOW + 120 * MIN, "bob", id=5).to_json(),
    ),
    approvals=(
        Approval(
            "4821-1",
            ADV,
            "overspend",
            Level.CAMPAIGN,
            "1801",
            "Summer\u202esale",
            PlannedChange("pause", before={"operation_status": "ENABLE"}),
            {"spend": 120.5},
            NOW - 20 * MIN,
            NOW + 10 * MIN,
        ),
    ),
    holds=(
        Hold(ADV, (Level.CAMPAIGN, "1801"), "budget", NOW - MIN, NOW + 23 * 60 * MIN, 13, 80.0, "revert #13", id=2),
    ),
    breaker=BreakerView(
        open=True,
        writes=11,
        max_writes=10,
        window=5 * MIN,
        counted_from=NOW - 5 * MIN,
        opened_at=NOW - 4 * MIN,
        reason="11 writes within 5m (max_writes 10)",
        closes_at=NOW + 56 * MIN,
        held_count=3,
    ),
    outbox=(Backlog("slack:#ops", 2, 1, NOW - 3 * MIN), Backlog("webhook", 1, 0, NOW - MIN)),
    notes=("the rule files have 1 problem(s) (tiktok-monitor check): severities unknown",),
)


def test_text_shows_every_part_on_one_screen() -> None:
    assert render_text(REPORT) == (
        "status at 2026-11-24 20:00:00 UTC (polls every 5m)\n"
        "run: 2 replica(s) alive: h:1, h:2\n"
        "\n"
        "advertisers (2)\n"
        "  7000000000000000001 Acme FAKE LINE: last poll 19:58:00 (2m ago) ok; next 20:03:00 (in 3m)\n"
        "  7000000000000000002: last poll 2026-11-23 20:00:00 (1d ago) failed (TransientApiError: busy); "
        "next 20:00:30 (in 30s)\n"
        "    PAUSED since 19:00:00 (1h ago): account not active: advertiser/info status STATUS_LIMIT\n"
        "    problem advertiser_unreachable since 19:50:00 (10m ago): TransientApiError: busy\n"
        "\n"
        "alerts: 2 firing, 1 pending\n"
        '  FIRING critical overspend: campaign 1801 "Summersale x" (advertiser 7000000000000000001) since 19:40:00 '
        "(20m ago): "
        "conversions=0 spend=120.5\n"
        "  RESOLVING critical overspend: campaign 1802 (advertiser 7000000000000000001) since 19:59:00 (1m ago): "
        "spend=99\n"
        "  pending ? low-ctr: ad 1803 (advertiser 7000000000000000001) since 19:55:00 (5m ago): ctr=no data\n"
        "\n"
        "silences (2)\n"
        "  #4 rule=low-ctr name~'Summer *' until 2026-11-25 08:00:00 (in 12h) by alice: launch week\n"
        "  #5 advertiser=7000000000000000001 from 21:00:00 (in 1h) until 22:00:00 (in 2h) by bob\n"
        "\n"
        "waiting for approval (1)\n"
        '  #4821-1 pause campaign 1801 "Summersale" (rule overspend, advertiser 7000000000000000001): spend = 120.5; '
        "expires 20:10:00 (in 10m): tiktok-monitor approvals approve 4821-1\n"
        "\n"
        "holds (1)\n"
        "  #2 campaign 1801 budget (advertiser 7000000000000000001): revert #13 set it to 80.0 at 2026-11-24 19:59 "
        "UTC after journal #13; rules leave its budget alone until 2026-11-25 19:00 UTC (override_hold)\n"
        "\n"
        "actions breaker: OPEN since 19:56:00 (4m ago): 11 writes within 5m (max_writes 10) (3 held back; closes "
        "20:56:00 (in 56m); tiktok-monitor actions resume); 11 of 10 writes within 5m\n"
        "\n"
        "outbox: 3 pending\n"
        "  slack:#ops: 2 pending (1 retrying), oldest 19:57:00 (3m ago)\n"
        "  webhook: 1 pending (0 retrying), oldest 19:59:00 (1m ago)\n"
        "\n"
        "note: the rule files have 1 problem(s) (tiktok-monitor check): severities unknown\n"
    )


def test_text_of_an_empty_database() -> None:
    text = render_text(StatusReport(now=NOW, interval=5 * MIN))
    assert "run: no replica alive (nothing polls this database now" in text
    assert "advertisers (0)\n  none known yet\n" in text
    assert "alerts: 0 firing, 0 pending\n" in text and "outbox: 0 pending\n" in text


def test_json_validates_against_the_documented_schema_and_keeps_values() -> None:
    data = json.loads(render_json(REPORT))
    assert problems(data, load_schema()) == []
    assert problems(to_json(StatusReport(now=NOW, interval=5 * MIN)), load_schema()) == []
    assert data["generated_at"] == "2026-11-24T20:00:00Z" and data["interval_seconds"] == 300
    assert data["advertisers"][0]["name"] == "Acme\nFAKE LINE"  # data, as TikTok has it: JSON escapes it
    assert data["replicas"] == ["h:1", "h:2"]
    assert [a["polled_by"] for a in data["advertisers"]] == ["h:1", None]
    assert data["advertisers"][1]["paused"] == {
        "reason": "account not active: advertiser/info status STATUS_LIMIT",
        "since": "2026-11-24T19:00:00Z",
    }
    firing = data["alerts"][0]
    assert (firing["state"], firing["values"], firing["last_notified_at"]) == (
        "firing",
        {"spend": 120.5, "conversions": 0},
        "2026-11-24T19:40:00Z",
    )
    assert data["alerts"][1]["values"] == {"ctr": None} and data["alerts"][1]["severity"] is None
    assert data["alerts"][0]["entity_name"] == "Summer\u202esale\r\nx" and data["alerts"][1]["entity_name"] is None
    assert data["silences"] == [dict(s) for s in REPORT.silences]
    [approval] = data["approvals"]
    assert (approval["id"], approval["state"], approval["expires_at"]) == ("4821-1", "pending", "2026-11-24T20:10:00Z")
    assert approval["action"]["before"] == {"operation_status": "ENABLE"} and approval["reason"] == {"spend": 120.5}
    assert data["holds"][0]["value"] == 80.0 and data["holds"][0]["created_by"] == "revert #13"
    assert data["breaker"]["open"] is True and data["breaker"]["closes_at"] == "2026-11-24T20:56:00Z"
    assert data["outbox"][0] == {"channel": "slack:#ops", "pending": 2, "retrying": 1, "oldest": "2026-11-24T19:57:00Z"}


def test_the_schema_check_finds_what_breaks_the_contract() -> None:
    data = to_json(REPORT)
    broken = copy.deepcopy(data)
    del broken["alerts"][0]["values"]
    broken["advertisers"][0]["next_poll_at"] = "2026-11-24 20:03:00+00:00"
    broken["outbox"][0]["extra"] = 1
    broken["breaker"]["open"] = "yes"
    assert problems(broken, load_schema()) == [
        "$.advertisers[0].next_poll_at: '2026-11-24 20:03:00+00:00' does not match "
        + load_schema()["$defs"]["time"]["pattern"],
        "$.alerts[0]: missing 'values'",
        "$.breaker.open: 'yes' is not of type ['boolean']",
        "$.outbox[0]: unexpected key 'extra'",
    ]
