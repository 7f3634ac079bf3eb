"""Who may click the buttons: the Slack users listed, and the members of the user groups listed.

A group's members are asked of Slack (``usergroups.users.list``, scope ``usergroups:read``) and kept for
:data:`MEMBERS_TTL`, so a click costs no extra call in the common case and a change in the group shows within a
minute. A group Slack will not list (a missing scope, a wrong id) has no members here: its users are refused, and
the reason is logged once per group and error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta

from monitor.clock import Clock

log = logging.getLogger(__name__)

#: How long a user group's members are kept before they are asked again.
MEMBERS_TTL = timedelta(seconds=60)
#: A user group's members, from Slack: raises on failure.
MembersOf = Callable[[str], Awaitable[Collection[str]]]


class Allowlist:
    """``allows(user_id)``: listed in ``users``, or a member of one of ``groups`` (asked via ``members_of``)."""

    def __init__(self, users: Collection[str], groups: Collection[str], members_of: MembersOf, clock: Clock) -> None:
        self._users = frozenset(users)
        self._groups = tuple(groups)
        self._members_of = members_of
        self._clock = clock
        self._cache: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._locks: dict[str, asyncio.Lock] = {}  # clicks at once ask Slack once

    async def allows(self, user_id: str) -> bool:
        if user_id in self._users:
            return True
        for group in self._groups:
            if user_id in await self._members(group):
                return True
        return False

    async def _members(self, group: str) -> frozenset[str]:
        async with self._locks.setdefault(group, asyncio.Lock()):
            return await self._members_locked(group)

    async def _members_locked(self, group: str) -> frozenset[str]:
        now = self._clock.now()
        cached = self._cache.get(group)
        if cached is not None and now - cached[0] < MEMBERS_TTL:
            return cached[1]
        try:
            members = frozenset(await self._members_of(group))
        except Exception as exc:  # Slack's refusal or a network error: nobody of that group, said once
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            if (group, type(exc).__name__) not in self._warned:
                self._warned.add((group, type(exc).__name__))
                log.warning("slack buttons: cannot list user group %s (%s); its members are refused", group, reason)
            return cached[1] if cached is not None else frozenset()
        self._cache[group] = (now, members)
        return members
