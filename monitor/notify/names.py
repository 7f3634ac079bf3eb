"""Names from TikTok (advertiser, campaign, ad group, ad) as messages show them: inert, on one line, bounded.

A name is data, not formatting. Wherever a message shows one (Slack, e-mail, webhook, the terminal):

* control characters (newlines, tabs, ...) become spaces, so a name cannot start a line of its own and forge one;
* bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C) are removed, so a name cannot
  reorder the text after it;
* a name longer than :data:`NAME_LIMIT` characters is cut with an ellipsis, so it never pushes the id, the values
  or an action's outcome out of a message.

The message keeps the id beside the name, so nothing is lost that identifies the entity. Escaping for each
channel (Slack's ``& < >``, HTML) still happens in the templates.
"""

from __future__ import annotations

import unicodedata

#: The longest name a message shows; TikTok allows 512 characters for an ad name.
NAME_LIMIT = 200
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def display_name(name: str | None, limit: int = NAME_LIMIT) -> str | None:
    """``name`` as a message shows it (see the module docstring); None stays None."""
    if name is None:
        return None
    cleaned = "".join(
        "" if ch in _BIDI else " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in name
    )
    cleaned = " ".join(cleaned.split())  # runs of spaces (a "\r\n" became two) as one
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"
