"""Templates: escaping for each channel, the documented context, user overrides and their failures."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from notify_factories import HOSTILE, NOW, alert, entity

from monitor.domain import Account, OpsKind, Outcome
from monitor.notify import Action, OperationalMessage, Templates
from monitor.notify.samples import sample_messages
from monitor.notify.templates import format_duration, format_time, slack_escape, slack_link

#: Every <...> in Slack text must be a link we built to Ads Manager.
OUR_LINK = re.compile(r"<https://ads\.tiktok\.com/[^<>|\s]+\|[^<>]*>")


def assert_slack_safe(text: str) -> None:
    stripped = OUR_LINK.sub("", text)
    assert "<" not in stripped and ">" not in stripped, stripped
    assert "<!channel>" not in text and "<https://evil" not in text and "<b>" not in text


def hostile_alert() -> object:
    hostile_adv = Account("7000000000000000001", "Acme <!here> & Co", "USD", "Etc/GMT+5")
    return alert(entity("1800000000000000011", HOSTILE, 812.5), advertiser=hostile_adv)


def test_slack_text_and_every_block_part_escape_names_from_the_api(templates: Templates) -> None:
    rendered = templates.slack(hostile_alert())  # type: ignore[arg-type]
    for part in (rendered.text, rendered.summary, *rendered.entities, rendered.footer):
        assert_slack_safe(part)
    assert "Retargeting &lt;!channel&gt; &amp; &lt;b&gt;VIP&lt;/b&gt; &lt;https://evil|click&gt;" in rendered.text
    assert "Acme &lt;!here&gt; &amp; Co" in rendered.summary
    assert OUR_LINK.search(rendered.entities[0])


def test_email_html_is_autoescaped_and_the_text_part_keeps_names_verbatim(templates: Templates) -> None:
    mail = templates.email(hostile_alert())  # type: ignore[arg-type]
    assert "<b>VIP</b>" not in mail.html and "&lt;b&gt;VIP&lt;/b&gt;" in mail.html
    assert "<!here>" not in mail.html
    assert HOSTILE in mail.text and "\n" not in mail.subject


def test_alert_content_values_units_action_link_and_times(templates: Templates) -> None:
    message = alert(
        entity("1", "Summer Sale", spend=612.4, conversion=None, action=Action("pause", Outcome.DRY_RUN)),
        entity("2", "Holiday", spend=None, conversion=0, action=Action("pause", Outcome.DONE, journal_id=7)),
    )
    rendered = templates.slack(message)
    assert rendered.header == ":rotating_light: Firing: overspend-no-conversions"
    assert "spend *612.40 USD*" in rendered.entities[0] and "conversion *no data*" in rendered.entities[0]
    assert "spend *no data*" in rendered.entities[1] and "conversion *0*" in rendered.entities[1]
    assert "pause → dry run, nothing was changed" in rendered.entities[0]
    assert "pause → done (journal #7)" in rendered.entities[1]
    assert "first seen 2026-11-24 14:45 UTC-05:00" in rendered.footer  # in the advertiser's time zone
    assert "`spend &gt; 500 and conversion == 0`" in rendered.summary
    mail = templates.email(message)
    assert mail.subject == "[CRITICAL] Firing: overspend-no-conversions · Acme Outdoor US · 2 campaigns"
    assert "https://ads.tiktok.com/i18n/perf/campaign?aadvid=7000000000000000001&keyword=1" in mail.text
    assert "spend: no data" in mail.text and "spend: 0" not in mail.text


def test_every_builtin_template_renders_every_sample(templates: Templates) -> None:
    assert templates.check(sample_messages()) == []


@pytest.mark.parametrize("kind", list(OpsKind))
def test_operational_messages_and_their_recovery(templates: Templates, kind: OpsKind) -> None:
    adv = Account("7000000000000000001", "Acme <!channel>", "USD", "Etc/GMT+5")
    since = NOW.replace(hour=18)
    problem = OperationalMessage(kind, adv.id, "error <x>", since, NOW, advertiser=adv, failures=4)
    rendered = templates.slack(problem)
    assert_slack_safe(rendered.text)
    assert ":rotating_light:" in rendered.header
    recovered = templates.slack(OperationalMessage(kind, adv.id, "", since, NOW, recovered=True, advertiser=adv))
    assert ":white_check_mark:" in recovered.header and "Working again after 2h." in recovered.text
    assert templates.email(problem).subject.startswith("[CRITICAL]")


def test_token_revoked_says_how_to_reauthorize(templates: Templates) -> None:
    message = OperationalMessage(OpsKind.TOKEN_REVOKED, "7000000000000000001", "40105", NOW, NOW)
    assert "tiktok-monitor auth login" in templates.slack(message).text
    assert "tiktok-monitor auth login" in templates.email(message).text


def test_a_user_template_overrides_the_builtin_and_can_import_builtin_macros(tmp_path: Path) -> None:
    (tmp_path / "alert.txt.j2").write_text(
        '{% import "builtin/common.j2" as c %}{% set subject %}ALERT {{ rule.name }}{% endset %}'
        "{{ c.kind_words[kind] }} {{ entities | length }} {{ advertiser.currency }}\n"
    )
    templates = Templates(tmp_path)
    mail = templates.email(alert())
    assert mail.subject == "ALERT overspend-no-conversions"
    assert mail.text == "Firing 1 USD\n"
    assert "<html>" in mail.html  # the HTML part is still the built-in one
    assert templates.check(sample_messages()) == []


def test_a_broken_user_template_is_reported_by_check_and_falls_back_to_the_builtin_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "alert.slack.j2").write_text("{{ rule.nme }}\n")  # StrictUndefined: a typo is an error
    (tmp_path / "ops.txt.j2").write_text("{% if %}\n")
    templates = Templates(tmp_path)
    problems = templates.check(sample_messages())
    assert any("alert.slack.j2" in p and "nme" in p for p in problems)
    assert any("ops.txt.j2" in p and "line 1" in p for p in problems)
    with caplog.at_level(logging.ERROR, logger="monitor.notify.templates"):
        first = templates.slack(alert())
        templates.slack(alert())
    assert "overspend-no-conversions" in first.text  # the built-in template rendered it
    assert len([r for r in caplog.records if "alert.slack.j2" in r.getMessage()]) == 1


def test_slack_helpers() -> None:
    assert slack_escape("a & <b> > c") == "a &amp; &lt;b&gt; &gt; c"
    assert slack_link("https://ads.tiktok.com/x?a=1&b=2", "<n>") == "<https://ads.tiktok.com/x?a=1&amp;b=2|&lt;n&gt;>"
    for unsafe in ("javascript:alert(1)", "https://x|y", "https://x>", "https://a b", None):
        assert slack_link(unsafe, "n") == "n"
    assert format_time(NOW) == "2026-11-24 20:00 UTC"
    assert format_time(NOW, "Asia/Tokyo") == "2026-11-25 05:00 UTC+09:00"
    assert format_time(NOW, "Not/AZone") == "2026-11-24 20:00 UTC"
    assert format_duration(NOW - NOW.replace(hour=18, minute=45)) == "1h 15m"
    assert format_duration(NOW - NOW) == "0m"


def test_check_reports_a_missing_templates_directory(tmp_path: Path) -> None:
    assert Templates(tmp_path / "nope").check() == [f"{tmp_path / 'nope'}: templates directory does not exist"]


def test_a_broken_user_common_file_falls_back_too(tmp_path: Path) -> None:
    (tmp_path / "common.j2").write_text("{% set kind_words = {} %}\n")  # the built-ins import it: KeyError-like
    rendered = Templates(tmp_path).slack(alert())
    assert rendered.header == ":rotating_light: Firing: overspend-no-conversions"


def test_an_operational_subject_reads_as_words(templates: Templates) -> None:
    rules = OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", "a.toml:3: when: ...", NOW, NOW)
    discovery = OperationalMessage(OpsKind.DISCOVERY_FAILED, "discovery:agency", "code 40105", NOW, NOW)
    assert templates.subject(rules) == "[CRITICAL] Rules failed to reload: the rule files"
    assert templates.subject(discovery) == "[CRITICAL] Advertisers could not be listed: token account 'agency'"
