"""The change log client against the sandbox: the monitor's own writes (this app's id) told from people's;
and the defensive parsing of a download seen with Python-style b'...' quoting."""

from __future__ import annotations

from datetime import datetime

import aiohttp

from monitor.domain import Level
from monitor.tiktok.changelog import parse_rows

ADV = "7000000000000000001"


async def _no_wait(_: float) -> None:
    return None


async def test_the_change_log_names_the_app_of_api_writes_and_the_source_of_others(sandbox, make_client, clock):
    client = make_client()
    campaign = sandbox.world.advertisers[ADV].campaigns[0]
    other = sandbox.world.advertisers[ADV].campaigns[1]
    result = await client.update_status(Level.CAMPAIGN, ADV, [campaign.campaign_id], "DISABLE")
    assert result.succeeded == (campaign.campaign_id,)
    async with aiohttp.ClientSession() as http:
        body = {"entity_id": other.campaign_id, "operation_status": "DISABLE", "by": "person"}
        async with http.post(f"{sandbox.base_url}/sandbox/changes", json=body) as r:
            assert r.status == 200
    start = datetime(clock.now().year, clock.now().month, clock.now().day)
    end = start.replace(hour=23, minute=59, second=59)

    records = await client.change_log(ADV, start, end, sleep=_no_wait)

    by_id = {r.object_id: r for r in records}
    mine, theirs = by_id[campaign.campaign_id], by_id[other.campaign_id]
    assert (mine.source, mine.app_id, mine.object_type) == ("Marketing API", sandbox.settings.app_id, "CAMPAIGN")
    assert [(d.field, d.before, d.after) for d in mine.details] == [("operation_status", "ENABLE", "DISABLE")]
    assert (theirs.source, theirs.app_id) == ("TikTok Ads Manager", None)
    only = await client.change_log(ADV, start, end, object_ids=[other.campaign_id], sleep=_no_wait)
    assert [r.object_id for r in only] == [other.campaign_id]


def test_a_download_quoted_python_style_is_still_read():
    data = {
        "total_count": 1,
        "list": [
            'b\'{"object_id": "1", "source": "Marketing API", "app_id": "42", '
            '"activity_details": [{"field": "budget", "before": "b\\\'50.00\\\'", "after": "60.00"}]}\''
        ],
    }
    [record] = parse_rows(data)
    assert (record.object_id, record.source, record.app_id) == ("1", "Marketing API", "42")
    assert [(d.field, d.before, d.after) for d in record.details] == [("budget", "50.00", "60.00")]
