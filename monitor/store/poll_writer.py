"""What one poll produced, buffered until its commit (:class:`PollWriter`; monitor.store.poll begins and commits it).

The pipeline hands the writer the states it fetched, alert states, holds, approvals and messages; nothing of it
touches the database until :func:`monitor.store.poll.commit` writes it all in one transaction. The writer also
holds the previous snapshot (read lean at the poll's start: monitor.store.lean) and works out which rows change
(:meth:`PollWriter.compare`, monitor.store.poll_changes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from monitor.domain import AlertState, EntityKey, EntityState, Hold, Level, Snapshot
from monitor.domain.approvals import Approval
from monitor.domain.building import Known
from monitor.store.errors import LeaseLostError
from monitor.store.history_codec import HistoryChanges
from monitor.store.lean import LeanPrevious
from monitor.store.poll_changes import poll_changes, stored_text
from monitor.store.shards import Fence
from monitor.store.snapshots import EntityValues
from monitor.store.values import Notification

__all__ = ["PollWriter"]


@dataclass
class PollWriter:
    """What one poll will write, buffered until the poll ends. Obtain it from ``Store.poll``.

    * ``previous`` is the newest committed snapshot before this poll (None on the first poll): diff against it.
      A poll reads it lean (monitor.store.lean): :attr:`known` and :attr:`previous_id` are what the fetch reads
      of it, and :meth:`compare` makes the states of it that changed; ``previous`` read before that makes every
      state, but for a previous snapshot read by fingerprint (``Store.poll(..., fingerprints=True)``), whose
      texts :meth:`compare` reads first: ``previous``, ``current`` and :meth:`changes` raise ``RuntimeError``
      before it.
    * :meth:`save` hands over the entity states the poll saw; ``current`` is the resulting snapshot.
    * :meth:`save_alert_states`, :meth:`delete_alert_states`, :meth:`save_holds`, :meth:`end_holds`,
      :meth:`save_approvals` and :meth:`enqueue` commit with the snapshot.
    * :meth:`count_calls` and :meth:`note_error` fill the poll's record (errors that did not stop the poll).
    """

    advertiser_id: str
    poll_id: int
    taken_at: datetime
    owner: str
    _previous: Snapshot | None
    _token: str = field(repr=False)
    fence: Fence | None = field(default=None, repr=False)
    _sids: dict[EntityKey, int] = field(default_factory=dict, repr=False)  # the history's keys (monitor.store.history)
    _saved: dict[EntityKey, EntityState] = field(default_factory=dict, repr=False)
    _saved_levels: set[Level] = field(default_factory=set, repr=False)
    _alert_saves: dict[tuple[str, Level, str], AlertState] = field(default_factory=dict, repr=False)
    _alert_deletes: set[tuple[str, Level, str]] = field(default_factory=set, repr=False)
    _hold_saves: list[Hold] = field(default_factory=list, repr=False)
    _hold_ends: set[int] = field(default_factory=set, repr=False)
    _outbox: list[Notification] = field(default_factory=list, repr=False)
    _approvals: list[Approval] = field(default_factory=list, repr=False)
    _current: Snapshot | None = field(default=None, repr=False)
    _changed_by: dict[EntityKey, str] = field(default_factory=dict, repr=False)
    _changes: tuple[list[EntityValues], HistoryChanges] | None = field(default=None, repr=False)
    _unvouched: bool = field(default=False, repr=False)  # some saved states' floats not vouched finite (save)
    #: The levels whose previous metrics this poll reads (None: every level; :meth:`compare`).
    _parsed_levels: frozenset[Level] | None = field(default=None, repr=False)
    api_calls: int = 0
    errors: list[str] = field(default_factory=list)
    #: Whether this poll found Upgraded Smart+ campaigns (None: it could not tell): stored with the poll in the
    #: advertiser's row (:meth:`note_smart_plus`), for the next poll's guess whichever process runs it.
    smart_plus: bool | None = None
    _lean: LeanPrevious | None = field(default=None, repr=False)  # the previous snapshot until compared
    #: Reads the metrics texts of the previous snapshot's rows of these keys, for a previous snapshot read by
    #: fingerprint (monitor.store.lean): :meth:`compare` reads those of the rows that changed.
    _read_texts: Callable[[Sequence[EntityKey]], Awaitable[Mapping[EntityKey, str]]] | None = field(
        default=None, repr=False
    )

    @property
    def previous(self) -> Snapshot | None:
        """The newest committed snapshot before this poll (None on the first poll); ``RuntimeError`` when read by
        fingerprint and not compared yet (see the class docstring)."""
        if self._lean is not None:  # read before the comparison: every state made now
            self._filled(self._lean)
            self._previous, self._lean = self._lean.snapshot(), None
        return self._previous

    @property
    def previous_id(self) -> int | None:
        """The id of :attr:`previous`'s poll (None on the first poll), read without making its states."""
        if self._lean is not None:
            return self._lean.poll_id
        return None if self._previous is None else self._previous.poll_id

    @property
    def known(self) -> Mapping[EntityKey, Known] | None:
        """The ids and names of :attr:`previous`'s entities by key (None on the first poll), for the fetch to
        share their strings (monitor.domain.building.build_states), read without making its states."""
        if self._lean is not None:
            return self._lean
        return None if self._previous is None else self._previous.entities

    def save(
        self, states: Iterable[EntityState], *, levels: Iterable[Level | str] | None = None, finite: bool = False
    ) -> None:
        """Record the entities this poll saw, complete for ``levels`` (default: every level).

        An entity of those levels that was in the previous snapshot but is not given here has disappeared.
        Entities of levels never saved in this poll carry over unchanged (for a poll that fetched only some
        levels). Each level may be saved once per poll; states must belong to this poll's advertiser.
        ``finite``: the caller vouches that every float of these states' metrics is finite (a poll's fetch:
        ``FetchResult.finite``), so the comparison need not check (a value that is not would be stored as
        ``null``, read back as no data, unnoticed: vouch only for values made finite by their reader).
        """
        wanted = set(Level) if levels is None else {Level(level) for level in levels}
        if again := wanted & self._saved_levels:
            raise ValueError(f"levels already saved in this poll: {sorted(level.value for level in again)}")
        batch: dict[EntityKey, EntityState] = {}
        for state in states:
            key = state.key  # (a tuple made by each read of the property: once here, 100,000s a poll)
            if state.advertiser_id != self.advertiser_id:
                raise ValueError(f"{key} belongs to advertiser {state.advertiser_id}, not {self.advertiser_id}")
            if state.level not in wanted:
                raise ValueError(f"{key} is not of the levels being saved: {sorted(x.value for x in wanted)}")
            if key in batch:
                raise ValueError(f"{key} given twice")
            batch[key] = state
        # a new dict, not this one updated: the snapshot ``current`` made may be this very dict
        self._saved = {**self._saved, **batch} if self._saved else batch
        self._saved_levels |= wanted
        self._unvouched |= bool(batch) and not finite
        self._current = None
        self._changes = None

    @property
    def current(self) -> Snapshot:
        """The snapshot this poll will commit: the saved states plus what carried over from ``previous``."""
        if self._current is None:
            carried = {} if self.previous is None else self.previous.entities
            entities = {k: v for k, v in carried.items() if k[0] not in self._saved_levels}
            if entities:
                entities.update(self._saved)
            else:  # every level saved (a poll's usual case): the saved states themselves, not a copy of 100,000s
                entities = self._saved
            # wrapped here, so Snapshot need not copy it (100,000 entries for a large account)
            self._current = Snapshot(self.advertiser_id, self.poll_id, self.taken_at, MappingProxyType(entities))
        return self._current

    def save_alert_states(self, states: Iterable[AlertState]) -> None:
        for state in states:
            if state.advertiser_id != self.advertiser_id:
                raise ValueError(f"alert state of advertiser {state.advertiser_id} in a poll of {self.advertiser_id}")
            self._alert_deletes.discard(state.key)
            self._alert_saves[state.key] = state

    def delete_alert_states(self, keys: Iterable[tuple[str, Level | str, str]]) -> None:
        for rule, level, entity_id in keys:
            key = (rule, Level(level), entity_id)
            self._alert_saves.pop(key, None)
            self._alert_deletes.add(key)

    def save_holds(self, new: Iterable[Hold]) -> None:
        """Store new holds of this poll's advertiser."""
        for hold in new:
            if hold.advertiser_id != self.advertiser_id:
                raise ValueError(f"hold of advertiser {hold.advertiser_id} in a poll of {self.advertiser_id}")
            self._hold_saves.append(hold)

    def end_holds(self, ids: Iterable[int]) -> None:
        """End stored holds (by id) at this poll's time, e.g. those a new hold of the same field replaces."""
        self._hold_ends.update(ids)

    def save_approvals(self, new: Iterable[Approval]) -> None:
        """Store new pending approvals (actions of rules with ``approve``) of this poll's advertiser."""
        for approval in new:
            if approval.advertiser_id != self.advertiser_id:
                raise ValueError(f"approval of advertiser {approval.advertiser_id} in a poll of {self.advertiser_id}")
            self._approvals.append(approval)

    def enqueue(self, *notifications: Notification) -> None:
        self._outbox.extend(notifications)

    @property
    def enqueued(self) -> tuple[Notification, ...]:
        """The messages this poll will hand to the outbox (what a preview shows)."""
        return tuple(self._outbox)

    def count_calls(self, n: int = 1) -> None:
        self.api_calls += n

    def note_error(self, message: str) -> None:
        self.errors.append(message)

    def note_smart_plus(self, found: bool | None) -> None:
        """Whether this poll found Upgraded Smart+ campaigns (None: it could not tell; the stored value stays)."""
        self.smart_plus = found

    def note_changed_by(self, by: Mapping[EntityKey, str]) -> None:
        """Who changed these entities, as the Change Log said (stored with the poll, for a backtest)."""
        self._changed_by.update(by)

    def changes(self) -> tuple[list[EntityValues], HistoryChanges]:
        """Rows for ``entities`` (entities that appeared, changed or disappeared) and the history's rows of them
        (worked out once per :meth:`save`)."""
        if self._changes is None:
            lean = self._lean  # read lean: the states of it that changed made as compared, the others the new ones
            previous: Mapping[EntityKey, EntityState] | LeanPrevious = {}
            if lean is not None:
                previous = self._filled(lean)
            elif self._previous is not None:
                previous = self._previous.entities
            self._changes = poll_changes(
                previous, self._saved, self._saved_levels, finite=not self._unvouched, parsed_levels=self._parsed_levels
            )
            if lean is not None:
                self._previous, self._lean = lean.snapshot(), None
        return self._changes

    async def compare(self, parsed_levels: Collection[Level] | None = None) -> None:
        """Work out :meth:`changes` now, off the event loop, rather than at commit. Call it after :meth:`save`
        and before anything reads ``previous``: comparing hands its metrics what it decoded, and an unchanged
        entity's previous state is the new one (monitor.store.lean), so the rules decode nothing of the previous
        poll and its states are made only for entities that changed or disappeared. ``parsed_levels``: the levels
        whose previous metrics the poll reads (RuleSet.previous_metric_levels: ``prev.x``, ``changed(x)``,
        ``delta(x)`` of a metric or a derived value), None for every level; at the others a changed entity's
        previous metrics keep their text, decoded only if read (monitor.store.poll_changes: less memory held for
        the rest of the poll). Without a
        previous snapshot (a first poll) there is nothing to hand over: the commit compares then, slice by slice,
        and never holds all the rows of the poll at once (monitor.store.poll_write)."""
        self._parsed_levels = None if parsed_levels is None else frozenset(parsed_levels)
        lean = self._lean
        if lean is not None and lean.unfilled and self._changes is None:  # read by fingerprint: texts of the changed
            checked = not self._unvouched
            left = await asyncio.to_thread(lean.settle, self._saved, lambda state: stored_text(state, checked))
            if left:
                assert self._read_texts is not None  # given with every previous snapshot read by fingerprint
                texts = await self._read_texts(left)
                if len(texts) != len(left):  # written since by another process: this poll's lease was lost
                    raise LeaseLostError(self.advertiser_id, self.owner)
                lean.fill(texts)
        if self._lean is not None or self._previous is not None:
            await asyncio.to_thread(self.changes)

    @staticmethod
    def _filled(lean: LeanPrevious) -> LeanPrevious:
        if lean.unfilled:  # a programming error: compare() reads what the comparison needs first
            raise RuntimeError("the previous snapshot was read by fingerprint: await compare() before reading it")
        return lean
