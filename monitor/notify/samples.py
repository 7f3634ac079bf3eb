"""Sample messages, as the sandbox's accounts would produce them: for checking templates and for the docs.

:func:`sample_messages` covers every template branch (firing with several entities and "more", resolved, each
operational kind, recovered), and its names carry Slack and HTML metacharacters on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.domain import Account, Level, OpsKind, Outcome, Severity
from monitor.notify.links import ads_manager_url
from monitor.notify.message import (
    Action,
    AlertEntity,
    AlertKind,
    AlertMessage,
    MatchedValue,
    OperationalMessage,
    RuleInfo,
)
from monitor.notify.units import unit_for

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ACME = Account("7000000000000000001", "Acme Outdoor US", "USD", "Etc/GMT+5")
HOSTILE = "Retargeting <!channel> & <b>VIP</b> <https://evil.example|click>"
OVERSPEND = RuleInfo(
    name="overspend-no-conversions",
    severity=Severity.CRITICAL,
    description="Spent more than 500 today without a single conversion.",
    when="spend > 500 and conversion == 0",
)


def campaign(
    campaign_id: str, name: str | None, spend: float | None, conversion: int | None, *, action: Action
) -> AlertEntity:
    """A campaign of Acme Outdoor US that matched the overspend rule."""
    values = (
        MatchedValue("spend", spend, unit_for("spend", ACME.currency), "today"),
        MatchedValue("conversion", conversion, unit_for("conversion", ACME.currency), "today"),
    )
    return AlertEntity(
        level=Level.CAMPAIGN,
        id=campaign_id,
        name=name,
        values=values,
        link=ads_manager_url(Level.CAMPAIGN, ACME.id, campaign_id),
        first_seen=NOW - timedelta(minutes=15),
        action=action,
    )


def sample_alert(kind: AlertKind = AlertKind.FIRING) -> AlertMessage:
    paused = Action("pause", Outcome.DONE, journal_id=42)
    entities = (
        campaign("1800000000000000011", HOSTILE, 812.5, 0, action=paused),
        campaign("1800000000000000012", "Summer Sale – Prospecting", 640.0, 0, action=Action("pause", Outcome.DRY_RUN)),
        campaign(
            "1800000000000000013",
            "Holiday Promo",
            531.2,
            0,
            action=Action("pause", Outcome.SKIPPED, "circuit breaker open (max_writes)"),
        ),
    )
    return AlertMessage(
        kind=kind,
        rule=OVERSPEND,
        advertiser=ACME,
        entities=entities,
        more_count=2,
        first_seen=NOW - timedelta(minutes=15),
        now=NOW,
    )


def sample_messages() -> list[AlertMessage | OperationalMessage]:
    since = NOW - timedelta(hours=1)
    ops = [
        OperationalMessage(kind, ACME.id, "TikTok API error 40105: access token revoked", since, NOW, advertiser=ACME)
        for kind in (OpsKind.TOKEN_REVOKED, OpsKind.PERMISSION_LOST)
    ]
    ops.append(
        OperationalMessage(OpsKind.ADVERTISER_UNREACHABLE, ACME.id, "timeout", since, NOW, advertiser=ACME, failures=3)
    )
    ops.append(
        OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", "rules/a.toml:3: when: unknown name", since, NOW)
    )
    ops.append(OperationalMessage(OpsKind.TOKEN_REVOKED, ACME.id, "", since, NOW, recovered=True, advertiser=ACME))
    return [sample_alert(), sample_alert(AlertKind.RESOLVED), *ops]


def _preview(directory: str | None) -> str:
    """The sample alert as Slack (text, as displayed, Block Kit) and e-mail (subject, text) would get it."""
    import json
    import re

    from monitor.notify.slack_blocks import build_blocks
    from monitor.notify.templates import Templates, slack_unescape

    templates = Templates(directory)
    message = sample_alert()
    slack = templates.slack(message)
    shown = slack_unescape(re.sub(r"<[^|>]+\|([^>]*)>", r"\1", slack.text))
    mail = templates.email(message)
    return "\n\n".join(
        [
            "--- Slack text (mrkdwn, as sent) ---\n" + slack.text,
            "--- Slack, as displayed (links become their labels) ---\n" + shown,
            "--- Slack Block Kit ---\n" + json.dumps(build_blocks(slack), indent=2, ensure_ascii=False),
            f"--- E-mail ---\nSubject: {mail.subject}\n\n{mail.text}",
        ]
    )


if __name__ == "__main__":  # python -m monitor.notify.samples [TEMPLATES_DIR]: preview templates
    import sys

    print(_preview(sys.argv[1] if len(sys.argv) > 1 else None))
