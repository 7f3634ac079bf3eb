"""`once` end to end against the sandbox: one cycle, a summary, an exit code that tells the truth."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from monitor.config import load_settings
from monitor.once import run_once
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
