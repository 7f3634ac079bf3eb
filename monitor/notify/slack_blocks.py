"""A Slack message's layout, pure: Slack's size limits, mrkdwn cut without breaking a link or an entity
(:func:`truncate`), and the Block Kit blocks of a rendered message (:func:`build_blocks`)."""

from __future__ import annotations

from typing import Any

from monitor.notify.templates import SlackText

TEXT_LIMIT, SECTION_LIMIT, HEADER_LIMIT, MAX_BLOCKS = 39_000, 3_000, 150, 50


def truncate(text: str, limit: int) -> str:
    """Cut mrkdwn at ``limit`` without splitting a ``<link|label>`` or an ``&entity;``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut + "…"


def build_blocks(parts: SlackText, tail: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Block Kit: a header, the summary, one section per listed entity, a context line, and ``tail`` (the
    buttons), within Slack's 50 blocks."""
    tail = tail or []
    blocks: list[dict[str, Any]] = []
    if parts.header:
        header = parts.header if len(parts.header) <= HEADER_LIMIT else parts.header[: HEADER_LIMIT - 1] + "…"
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}})
    for text in (parts.summary, *parts.entities):
        if text:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}})
    blocks = blocks[: MAX_BLOCKS - 1 - len(tail)]
    if parts.footer:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(parts.footer, SECTION_LIMIT)}]}
        )
    return blocks + tail
