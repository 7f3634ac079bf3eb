"""Jinja2 templates for every message: defaults shipped in the package, overridable from a user directory.

Templates are looked up first in the user's directory (``[monitor] templates``), then in the package's
``monitor/notify/templates``; the built-ins are also reachable as ``builtin/<name>`` (to import their macros).
Each message type (``alert``, ``ops``) has three templates:

``<type>.slack.j2``  Slack mrkdwn. The rendered body is the message's ``text`` (notification and fallback); the
                     Block Kit message is built from what it exports: ``header`` (plain text), ``summary``
                     (mrkdwn), the macro ``entity(e)`` (mrkdwn, one section per listed entity) and ``footer``.
``<type>.txt.j2``    E-mail plain text: the body, and ``subject`` (one line; also the webhook's ``summary``).
``<type>.html.j2``   E-mail HTML body.

The context is the message's fields as top-level names (see monitor.notify.message and docs/notifications.md:
``kind``, ``rule``, ``advertiser``, ``entities``, ``more_count``, ``first_seen``, ``now`` for alerts; ``kind``,
``subject``, ``detail``, ``since``, ``now``, ``recovered``, ``repeat``, ``advertiser``, ``failures`` for operational
messages) plus ``message`` itself. Undefined names are errors (StrictUndefined), not empty text.

Escaping is automatic and depends on the template: ``.html.j2`` is HTML-autoescaped; in ``.slack.j2`` every
``{{ expression }}`` has ``&``, ``<`` and ``>`` escaped (so no name can mention @channel, fake a link or break the
message) except links built by the ``slack_link`` filter; ``.txt.j2`` is plain text. A user template that fails to
render is logged once and the built-in one is used, so a template mistake never loses an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.domain import zone_or_utc
from monitor.notify.message import Message

if TYPE_CHECKING:  # jinja2 is imported when the first message is rendered (tests/structure/test_startup_imports.py)
    import jinja2
    from jinja2 import Environment
    from jinja2.environment import TemplateModule

log = logging.getLogger(__name__)
T = TypeVar("T")

_SAFE_URL_SCHEMES = ("https://", "http://", "mailto:")
_LEVEL_NAMES = {"advertiser": "advertiser", "campaign": "campaign", "adgroup": "ad group", "ad": "ad"}


class Mrkdwn(str):
    """Slack mrkdwn built by us (a link): the Slack environment outputs it unescaped."""

    __slots__ = ()


def slack_escape(text: object) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to: ``&`` ``<`` ``>`` (in that order)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescape(text: str) -> str:
    """Back to literal text for Slack plain_text fields (which parse no mentions or links)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_link(url: object, label: object) -> str:
    """A mrkdwn link ``<url|label>`` with the label escaped; just the label when the URL could break out."""
    text = slack_escape(label)
    url = str(url or "")
    if not url.startswith(_SAFE_URL_SCHEMES) or any(c in url for c in "<>| \n\t"):
        return text
    return Mrkdwn(f"<{slack_escape(url)}|{text}>")  # Slack decodes &amp; in the URL back to &


def _slack_finalize(value: object) -> object:
    return value if isinstance(value, Mrkdwn) else slack_escape(value)


def format_time(moment: datetime | None, timezone: str | None = None) -> str:
    """``2026-11-24 19:45 UTC``, or in a time zone: ``2026-11-24 14:45 UTC-05:00``."""
    if moment is None:
        return "unknown"
    local = moment.astimezone(zone_or_utc(timezone or None))
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return f"{local:%Y-%m-%d %H:%M} UTC"
    sign, minutes = ("+" if offset >= timedelta(0) else "-"), int(abs(offset).total_seconds()) // 60
    return f"{local:%Y-%m-%d %H:%M} UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_duration(delta: timedelta) -> str:
    """``timedelta(hours=1, minutes=15)`` -> ``"1h 15m"``; under a minute -> ``"0m"``."""
    minutes = max(int(delta.total_seconds()) // 60, 0)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or "0m"


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def subject_name(subject: object) -> str:
    """What an operational message is about, in words: ``rules`` -> "the rule files", ``discovery:<account>`` ->
    "token account '<account>'", ``circuit-breaker`` -> "the actions circuit breaker"; an id as it is."""
    text = str(subject)
    if text == "rules":
        return "the rule files"
    if text.startswith("discovery:"):
        return f"token account {text.removeprefix('discovery:')!r}"
    if text == "circuit-breaker":
        return "the actions circuit breaker"
    return text


def _level_name(level: object) -> str:
    return _LEVEL_NAMES.get(str(level), str(level))


def _environment(loader: jinja2.BaseLoader, flavour: str) -> Environment:
    from jinja2 import Environment, StrictUndefined

    options: dict[str, Any] = {}
    if flavour == "slack":
        options["finalize"] = _slack_finalize
    env = Environment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=flavour == "html",  # noqa: S701 (Slack text is escaped by finalize; e-mail text is plain text)
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        **options,
    )
    env.filters.update(
        dt=format_time,
        duration=format_duration,
        plural=_plural,
        level_name=_level_name,
        subject_name=subject_name,
        slack_link=slack_link,
        slack_escape=lambda text: Mrkdwn(slack_escape(text)),
        mrkdwn=Mrkdwn,  # text this template already escaped (a captured {% set %} block): output as is
    )
    return env


def _flavour(name: str) -> str:
    return "slack" if name.endswith(".slack.j2") else "html" if name.endswith(".html.j2") else "text"


def context(message: Message, **extra: Any) -> dict[str, Any]:
    """The template context: the message's fields as top-level names, plus ``message``."""
    values = {f.name: getattr(message, f.name) for f in fields(message)}
    return {**values, "message": message, "type": message.type, **extra}


@dataclass(frozen=True)
class SlackText:
    """A rendered Slack message: ``text`` (notification and fallback) and the parts of its Block Kit form."""

    text: str
    header: str  # plain text
    summary: str  # mrkdwn
    entities: tuple[str, ...]  # mrkdwn, one per listed entity
    footer: str  # mrkdwn


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str
    html: str


class Templates:
    """Renders messages with the user's templates (``directory``) over the built-in ones."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = None if directory is None else Path(directory)
        self._made: tuple[dict[str, Environment], dict[str, Environment]] | None = None
        self._failed: set[str] = set()

    def _environments(self) -> tuple[dict[str, Environment], dict[str, Environment]]:
        """Per flavour, the environment with the user's templates over the built-in ones, and the built-in one;
        made at the first render, so a process that renders no message imports no jinja2."""
        if self._made is None:
            from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

            builtin = PackageLoader("monitor.notify", "templates")
            with_prefix = PrefixLoader({"builtin": builtin})
            user = [FileSystemLoader(self.directory)] if self.directory is not None else []
            flavours = ("slack", "html", "text")
            self._made = (
                {f: _environment(ChoiceLoader([*user, builtin, with_prefix]), f) for f in flavours},
                {f: _environment(ChoiceLoader([builtin, with_prefix]), f) for f in flavours},
            )
        return self._made

    @property
    def _envs(self) -> dict[str, Environment]:
        return self._environments()[0]

    @property
    def _builtin(self) -> dict[str, Environment]:
        return self._environments()[1]

    def slack(self, message: Message) -> SlackText:
        return self._render(f"{message.type}.slack.j2", message, _slack_parts)

    def email(self, message: Message) -> EmailText:
        text_name, html_name = f"{message.type}.txt.j2", f"{message.type}.html.j2"
        subject, text = self._render(text_name, message, _text_parts)
        return EmailText(subject, text, self._render(html_name, message, _html_parts))

    def subject(self, message: Message) -> str:
        """One line saying what happened: the e-mail subject, also the webhook's ``summary``."""
        return self._render(f"{message.type}.txt.j2", message, _text_parts)[0]

    def _render(self, name: str, message: Message, build: Callable[[TemplateModule, Message], T]) -> T:
        flavour = _flavour(name)
        try:
            return build(self._envs[flavour].get_template(name).make_module(context(message)), message)
        except Exception as exc:
            if self.directory is None:  # a built-in template failed: a bug, not a user's mistake
                raise
            if name not in self._failed:  # the template itself, or a user file it imports (common.j2)
                self._failed.add(name)
                log.error("template %s failed (%s); using the built-in one", self.directory / name, _describe(exc))
        return build(self._builtin[flavour].get_template(name).make_module(context(message)), message)

    def _overridden(self, name: str) -> bool:
        return self.directory is not None and (self.directory / name).is_file()

    def check(self, samples: Sequence[Message] | None = None) -> list[str]:
        """Render every template for each sample message (default: monitor.notify.samples, which covers every
        branch of the built-in templates), without falling back; one line per problem, for ``tiktok-monitor check``."""
        if samples is None:
            from monitor.notify.samples import sample_messages

            samples = sample_messages()
        problems = set()
        if self.directory is not None and not self.directory.is_dir():
            problems.add(f"{self.directory}: templates directory does not exist")
        for sample in samples:
            for suffix, build in (("slack.j2", _slack_parts), ("txt.j2", _text_parts), ("html.j2", _html_parts)):
                name = f"{sample.type}.{suffix}"
                try:
                    build(self._envs[_flavour(name)].get_template(name).make_module(context(sample)), sample)
                except Exception as exc:
                    where = (
                        self.directory / name
                        if self.directory is not None and self._overridden(name)
                        else f"builtin/{name}"
                    )
                    problems.add(f"{where}: {_describe(exc)}")
        return sorted(problems)


def _export(module: TemplateModule, name: str, *args: Any) -> str:
    """An exported variable (or, with args, macro call) of a rendered module, stripped; "" if not defined."""
    value = getattr(module, name, None)
    if value is None:
        return ""
    return str(value(*args) if args else value).strip()


def _body(module: TemplateModule) -> str:
    return str(module).strip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _slack_parts(module: TemplateModule, message: Message) -> SlackText:
    entities = getattr(message, "entities", ())
    return SlackText(
        text=str(module).strip(),
        header=_one_line(slack_unescape(_export(module, "header"))),
        summary=_export(module, "summary"),
        entities=tuple(_export(module, "entity", e) for e in entities) if hasattr(module, "entity") else (),
        footer=_export(module, "footer"),
    )


def _text_parts(module: TemplateModule, message: Message) -> tuple[str, str]:
    return _one_line(_export(module, "subject")), _body(module)


def _html_parts(module: TemplateModule, message: Message) -> str:
    return _body(module)


def _describe(exc: Exception) -> str:
    from jinja2 import TemplateSyntaxError  # loaded already: a template was rendered

    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
