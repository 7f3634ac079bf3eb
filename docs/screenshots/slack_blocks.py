"""Render a Slack message's Block Kit JSON as an HTML page and screenshot it: docs/screenshots/slack-buttons.png.

This is a rendering of the blocks, not Slack itself (Slack cannot run here). The blocks are the monitor's own:
``SlackChannel`` builds them (``build_blocks`` with the buttons of ``monitor.slackapp.buttons``), the second
message is the first after a click on "Silence 2h" (``after_click``, as the handler updates it); the third awaits
approval. The renderer
handles what these messages use: header, section and context blocks with mrkdwn (bold, code, links, mentions,
a few emoji shortcodes) and an actions block of buttons.

Run from the repository (needs playwright and Chromium; nothing in the test suite does)::

    .venv/bin/python docs/screenshots/slack_blocks.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.domain import Account, Level, Outcome, Severity
from monitor.notify import Action, AlertEntity, AlertKind, AlertMessage, MatchedValue, RuleInfo, Templates
from monitor.notify.links import ads_manager_url
from monitor.notify.slack_blocks import build_blocks
from monitor.notify.templates import format_time
from monitor.slackapp.buttons import actions_block, after_click, buttons_of

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ACME = Account("7000000000000000001", "Acme Outdoor US", "USD", "America/New_York")
EMOJI = {"rotating_light": "🚨", "warning": "⚠️", "information_source": "ℹ️", "white_check_mark": "✅"}
USERS = {"U0ALICE": "alice"}


def message(action: Action | None = None) -> AlertMessage:
    """The overspend rule fired for one campaign and paused it (journal #17), or ``action``."""
    rule = RuleInfo("overspend-no-conversions", Severity.CRITICAL, "Spent more than 500 today without a single "
                    "conversion.", "spend > 500 and conversion == 0")  # fmt: skip
    campaign = AlertEntity(
        Level.CAMPAIGN, "1800000000000000012", "Summer Sale – Prospecting",
        (MatchedValue("spend", 640.0, "USD", "today"), MatchedValue("conversion", 0, None, "today")),
        link=ads_manager_url(Level.CAMPAIGN, ACME.id, "1800000000000000012"),
        first_seen=NOW - timedelta(minutes=15),
        action=action or Action("pause", Outcome.DONE, journal_id=17),
    )  # fmt: skip
    return AlertMessage(AlertKind.FIRING, rule, ACME, (campaign,), NOW - timedelta(minutes=15), NOW)


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already escaped with &amp; &lt; &gt;) as HTML."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("@"):
            return f'<span class="mention">@{USERS.get(inner[1:], inner[1:])}</span>'
        url, _, label = inner.partition("|")
        return f'<a href="{url}">{label or url}</a>'

    out = re.sub(r"<([^<>]+)>", token, text)  # links and mentions; escaped &lt; &gt; stay text
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    out = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    return out.replace("\n", "<br>")


def render_block(block: dict[str, Any]) -> str:
    kind = block["type"]
    if kind == "header":
        text = html.escape(block["text"]["text"])
        return f'<div class="header">{re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)}</div>'
    if kind == "section":
        return f'<div class="section">{mrkdwn(block["text"]["text"])}</div>'
    if kind == "context":
        return '<div class="context">' + " ".join(mrkdwn(e["text"]) for e in block["elements"]) + "</div>"
    if kind == "actions":
        buttons = "".join(
            f'<span class="button {e.get("style", "")}">{html.escape(e["text"]["text"])}</span>'
            for e in block["elements"]
        )
        return f'<div class="actions">{buttons}</div>'
    return f"<pre>{html.escape(json.dumps(block))}</pre>"


def render_message(blocks: list[dict[str, Any]], time: str, edited: bool = False) -> str:
    body = "".join(render_block(b) for b in blocks)
    mark = ' <span class="edited">(edited)</span>' if edited else ""
    return (
        '<div class="message"><div class="avatar">TM</div><div class="content">'
        f'<div class="meta"><b>tiktok-ads-monitor</b> <span class="app">APP</span> <span class="time">{time}</span>'
        f"{mark}</div>{body}</div></div>"
    )


CSS = """
body { font-family: 'Lato', 'Helvetica Neue', Arial, sans-serif; font-size: 15px; color: #1d1c1d; background: #fff;
       margin: 0; padding: 16px 20px; width: 860px; }
.note { font-size: 12px; color: #616061; border: 1px dashed #ccc; padding: 6px 10px; margin-bottom: 12px; }
.caption { font-size: 13px; color: #616061; margin: 14px 0 4px; font-weight: bold; }
.message { display: flex; gap: 10px; padding: 8px 0; }
.avatar { width: 36px; height: 36px; border-radius: 4px; background: #fe2c55; color: #fff; font-weight: bold;
          display: flex; align-items: center; justify-content: center; font-size: 13px; flex: none; }
.content { flex: 1; line-height: 1.46; }
.meta b { font-weight: 900; } .app { font-size: 10px; background: #e8e8e8; color: #616061; padding: 1px 3px;
        border-radius: 2px; } .time, .edited { color: #616061; font-size: 12px; }
.header { font-weight: 900; font-size: 18px; margin: 4px 0; }
.section { margin: 4px 0; }
.context { font-size: 12px; color: #616061; margin: 6px 0; }
code { font-family: Monaco, Menlo, monospace; font-size: 12px; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e0e0e0; border-radius: 3px; padding: 1px 3px; }
a { color: #1264a3; text-decoration: none; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.actions { display: flex; gap: 8px; margin: 8px 0 4px; }
.button { border: 1px solid #c7c7c7; border-radius: 4px; padding: 4px 12px; font-weight: bold; font-size: 13px;
          background: #fff; }
.button.danger { color: #e01e5a; } .button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
"""


def page() -> str:
    alert = message()
    how = "approval #9-1 until 2026-11-24 20:30 UTC: tiktok-monitor approvals approve 9-1 (or reject 9-1)"
    waiting = message(Action("pause", Outcome.AWAITING, how, approval_id="9-1"))
    before = build_blocks(Templates().slack(alert), actions_block(alert))
    clicked = buttons_of(alert)[0]
    until = format_time(NOW + timedelta(hours=2))
    after = after_click(before, clicked["action_id"], clicked["value"],
                        f"Silenced 2h by <@U0ALICE> (silence #4, until {until})")  # fmt: skip
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        "<div class='note'>A rendering of the monitor's Block Kit JSON (docs/screenshots/slack_blocks.py), "
        "not Slack itself.</div>"
        "<div class='caption'>As posted: the alert, with its buttons</div>"
        + render_message(before, "3:00 PM")
        + "<div class='caption'>After alice clicked “Silence 2h” (the message updated by chat.update)</div>"
        + render_message(after, "3:00 PM", edited=True)
        + "<div class='caption'>A rule with <code>approve_within</code>: its pause awaits approval</div>"
        + render_message(build_blocks(Templates().slack(waiting), actions_block(waiting)), "3:05 PM")
        + "</body></html>"
    )


async def screenshot(chromium: str, out: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        tab = await browser.new_page(viewport={"width": 900, "height": 400}, device_scale_factor=2)
        await tab.set_content(page())
        await tab.screenshot(path=str(out), full_page=True)
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=HERE / "slack-buttons.png")
    parser.add_argument("--html", type=Path, help="also write the page here")
    args = parser.parse_args()
    if args.html:
        args.html.write_text(page())
    asyncio.run(screenshot(args.chromium, args.out))
    print(args.out)


if __name__ == "__main__":
    main()
