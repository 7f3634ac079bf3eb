"""What ``once --dry-run`` prints: per advertiser what would fire, what each action would do after the guards,
and every message as its channel would render it; then what the journal would record, and a summary line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.actions.base import Decision, Verdict
from monitor.notify.base import split_channel
from monitor.notify.message import Message, from_json
from monitor.notify.names import display_name
from monitor.notify.templates import Templates
from monitor.notify.webhook import payload
from monitor.store.values import Notification

if TYPE_CHECKING:
    from monitor.preview.dryrun import Previewed

HEADER = "DRY RUN: nothing was written (no TikTok write, no message sent, no database change)"

#: What each verdict is called in the preview.
VERDICT = {Verdict.GO: "would write", Verdict.DRY_RUN: "dry run, would not write", Verdict.SKIP: "skipped"}


def render_preview(
    results: Sequence[Previewed], journal: Sequence[str], source: str, templates: Templates, calls: int
) -> str:
    """The whole preview as text (see the module docstring)."""
    lines = [
        HEADER,
        f"database: {source}",
        "API budget: this process's rate limiter only (the shared budget is not used)",
    ]
    fire = writes = messages = 0
    for result in results:
        summary = result.summary
        if summary is None:
            lines.append(f"\nadvertiser {result.advertiser_id}: NOT PREVIEWED: {result.problem}")
            continue
        name = f" {display_name(summary.advertiser_name)}" if summary.advertiser_name else ""
        lines.append(
            f"\nadvertiser {result.advertiser_id}{name}: {summary.entities} entities, {summary.findings} "
            f"finding(s), {summary.calls} API call(s)"
        )
        lines += [f"  alert: {t}" for t in summary.transitions] or ["  alert: none would fire, repeat or resolve"]
        lines += [f"  action: {decision_line(d)}" for d in result.decisions]
        lines += [f"  no data: {e}" for e in summary.errors]
        for notification in result.messages:
            lines += render_message(notification, templates)
        fire += len(summary.transitions)
        writes += sum(1 for d in result.decisions if d.verdict is Verdict.GO)
        messages += len(result.messages)
    if journal:
        lines.append("\njournal (would be recorded):")
        lines += [f"  {line}" for line in journal]
    lines.append(
        f"\n{len(results)} advertiser(s): {fire} alert change(s), {writes} write(s) to TikTok, {messages} message(s) "
        f"would go out; {calls} API call(s) made (reads only)"
    )
    return "\n".join(lines) + "\n"


def decision_line(decision: Decision) -> str:
    """ "pause campaign 1801... (rule overspend): would write: operation_status ENABLE -> DISABLE" """
    planned = decision.planned
    return f"{planned.describe()} ({planned.who}): {VERDICT[decision.verdict]}: {decision.reason}"


def render_message(notification: Notification, templates: Templates) -> list[str]:
    """One queued message as its channel would render it: Slack's header, summary, entity lines and footer;
    e-mail's subject and text; the webhook's summary (it POSTs the message as JSON: docs/notifications.md) and
    text; framed and indented."""
    channel, target = split_channel(notification.channel)
    where = f"{channel} {target}" if target else channel
    message: Message = from_json(notification.payload)
    if channel == "slack":
        slack = templates.slack(message)
        body = [slack.header, slack.summary, *slack.entities, slack.footer]
    elif channel == "webhook":
        summary = payload(message, templates, None)["summary"]
        body = [f"summary: {summary} (POSTed as JSON)", *templates.email(message).text.rstrip().splitlines()]
    else:
        email = templates.email(message)
        body = [f"Subject: {email.subject}", *email.text.rstrip().splitlines()]
    text = [line for part in body for line in str(part).splitlines()]
    return [f"  message -> {where}:", *(f"    | {line}" for line in text)]
