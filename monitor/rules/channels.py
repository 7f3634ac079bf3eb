"""The channels a rule's ``notify`` names: which exist, which the config sets up, and one entry parsed.

A rule file is validated with the configured channels in the validation context (key :data:`CHANNELS`; what to
do about one that is not, a template with {channel}, under :data:`CHANNELS_HINT`): naming a channel the config
does not set up is a problem of the rule file.
"""

from __future__ import annotations

import difflib
import re

from monitor.rules.model import NotifyTarget
from monitor.tomlmessages import show_value

#: Channels a rule may name; which of them are usable depends on the config (context key "channels").
KNOWN_CHANNELS = ("slack", "email", "webhook", "console")
CHANNELS = "channels"
#: Context key: what to do about a channel that is not configured, a template with {channel}.
CHANNELS_HINT = "channels_hint"
CONFIG_HINT = "add [{channel}] to the config"

_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_SLACK_TARGET = re.compile(r"#[a-z0-9][a-z0-9_-]*|@[\w.-]+|[CGDU][A-Z0-9]{6,}")


def notify_target(entry: object, configured: frozenset[str], hint: str = CONFIG_HINT) -> NotifyTarget:
    """Parse "slack", "slack:#other", "email:ops@example.com"; the channel must be configured (``hint``, a template
    with {channel}, says where)."""
    if not isinstance(entry, str) or not entry:
        raise ValueError(f'expected a channel name like "slack", got {show_value(entry)}')
    channel, sep, target = entry.partition(":")
    if channel not in KNOWN_CHANNELS:
        close = difflib.get_close_matches(channel, KNOWN_CHANNELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (channels are {', '.join(KNOWN_CHANNELS)})"
        raise ValueError(f"unknown channel {channel!r}{hint}")
    if channel not in configured:
        have = ", ".join(c for c in KNOWN_CHANNELS if c in configured) or "none"
        raise ValueError(f"channel {channel!r} is not configured (configured: {have}): {hint.format(channel=channel)}")
    if not sep:
        return NotifyTarget(channel)
    if channel == "slack" and not _SLACK_TARGET.fullmatch(target):
        raise ValueError(f"expected a Slack channel like 'slack:#ads-alerts' or 'slack:@someone', got {entry!r}")
    if channel == "email" and not _EMAIL.fullmatch(target):
        raise ValueError(f"expected an address like 'email:ops@example.com', got {entry!r}")
    if not target.strip():
        raise ValueError(f"nothing after ':' in {entry!r}")
    return NotifyTarget(channel, target)
