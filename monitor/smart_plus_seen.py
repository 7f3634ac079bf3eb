"""Whether an advertiser has Upgraded Smart+ campaigns, as far as a poll about to start can know (issue 18, item 4).

A poll's ad-level reports start before its lists come back (:mod:`monitor.fetch_ad_reports`), keyed by
``ad_id_v2`` when the advertiser has Smart+ campaigns; a wrong guess reads each ad window again. Two sources:

* what this process's own latest poll of the advertiser found (:class:`SmartPlusSeen`), with that poll's id;
* what the advertiser's latest committed poll found, by whichever process (``advertisers.smart_plus``, written at
  its commit: :meth:`~monitor.store.poll_writer.PollWriter.note_smart_plus`).

The process's own finding is used when it is at least as new as the previous snapshot's poll (poll ids come from
one sequence for every process): the poll that made that snapshot, or a later one of this process that did not
commit. Otherwise another process polled the advertiser since (``once`` beside ``run``, a shard that moved and came
back) or this process never did (each ``once``, the first poll after a restart), and the stored finding is read,
and only when a guess is made at all (:func:`monitor.fetch.fetch_snapshot` asks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from monitor.store.repo import Store

__all__ = ["SmartPlusSeen", "own_finding"]

#: A finding as :func:`monitor.fetch.fetch_snapshot` asks for it: True, False, or None (not known).
Asker = Callable[[], Awaitable[bool | None]]


def own_finding(seen: tuple[int, bool] | None, previous_poll: int | None) -> bool | None:
    """What this process's own latest poll found, when it is current: ``seen`` is (its poll id, its finding);
    ``previous_poll`` the id of the previous snapshot's poll (None: there is none). None: ask the store."""
    if seen is None:
        return None
    poll_id, found = seen
    return found if previous_poll is None or poll_id >= previous_poll else None


class SmartPlusSeen:
    """Each advertiser's latest finding in this process, and the asker a poll hands to the fetch."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seen: dict[str, tuple[int, bool]] = {}

    def note(self, advertiser_id: str, poll_id: int, found: bool | None) -> None:
        """What poll ``poll_id`` found (None: it could not tell, and what was known stays)."""
        if found is not None:
            self._seen[advertiser_id] = (poll_id, found)

    def asker(self, advertiser_id: str, previous_poll: int | None) -> Asker:
        """How the poll of ``advertiser_id`` whose previous snapshot is poll ``previous_poll`` learns the finding
        it guesses from: its own if current, else the advertiser's stored one (read only when asked)."""
        own = own_finding(self._seen.get(advertiser_id), previous_poll)

        async def ask() -> bool | None:
            if own is not None:
                return own
            record = await self._store.advertiser(advertiser_id)
            return None if record is None else record.smart_plus

        return ask
