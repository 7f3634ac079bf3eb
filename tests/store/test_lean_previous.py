"""A poll reads its previous snapshot lean (monitor.store.lean, issue 18): each row kept as read, a state made only
for an entity that changed or disappeared, an unchanged one's previous state the new one. Compared both ways, on
generated inputs, the same poll gives the same ``entities`` rows, the same history, and a previous snapshot that
reads the same for every reader (every field of the same type and value, the same metrics read-only, the same
diff and velocities); with a Smart+ or ``changed_by`` state, or a budget of another type, unchanged."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.domain.values import READ_ONLY
from monitor.pace import velocities
from monitor.store import Store
from monitor.store.db import reading, writing
from monitor.store.diff import diff_snapshots
from monitor.store.errors import LeaseLostError
from monitor.store.history import load_sids
from monitor.store.history_codec import HistoryChanges
from monitor.store.lean import LeanPrevious, LeanRow, load_lean
from monitor.store.poll_changes import poll_changes, stored_text
from monitor.store.snapshots import entities_t, latest_poll, load_current

from .conftest import ADV, T0, state
from .test_fingerprint import as_read, moved, state_of
from .test_snapshot_load import entities, exactly

OTHER = "7000000000000000002"


def seen(entity: EntityState) -> tuple[Any, ...]:
    """What a reader sees of ``entity``: every field with its type (floats by repr), the metrics as read (each
    value with its type), and whether every window is read-only."""
    fields = (getattr(entity, n) for n in EntityState.__slots__ if n != "metrics")
    metrics = {w: [(k, type(v), repr(v)) for k, v in values.items()] for w, values in entity.metrics.items()}
    frozen = all(type(values) in READ_ONLY for values in entity.metrics.values())
    return type(entity), *((type(v), repr(v)) for v in fields), metrics, frozen, len(entity.metrics)


def seen_all(entities: Mapping[EntityKey, EntityState]) -> list[Any]:
    return [(key, seen(entity)) for key, entity in entities.items()]


def history(changes: HistoryChanges) -> list[Any]:
    states = [(e.key, e.present, seen(e.state)) for e in changes.states]
    windows = [
        (e.key, e.window, None if e.values is None else sorted(map(repr, e.values.items()))) for e in changes.windows
    ]
    return [states, windows]


def lean_of(states: Iterable[EntityState], *, fingerprints: bool = False) -> LeanPrevious:
    """``states`` as :func:`~monitor.store.lean.load_lean` keeps them (``fingerprints``: the hash of each text)."""
    lean = LeanPrevious(ADV)
    lean.poll_id, lean.taken_at = 1, T0
    for s in states:
        shared = (s.level, s.operation_status, s.secondary_status, s.budget_mode, s.campaign_id, s.adgroup_id)
        text = fastjson.dumps(s.metrics)
        if fingerprints:
            lean[s.key] = LeanRow(s.id, None, s.name, s.budget, shared, hash(text))
        else:
            lean[s.key] = LeanRow(s.id, text, s.name, s.budget, shared)
    lean._left = len(lean) if fingerprints else 0  # (as load_lean reads them: no text filled yet)
    return lean


def settled(lean: LeanPrevious, olds: Iterable[EntityState], saved: Mapping[EntityKey, EntityState]) -> list[Any]:
    """What a poll does with a previous snapshot read by fingerprint before comparing: settle, then fill the
    texts of the rows left (as read again from the store); returns the keys left."""
    left = lean.settle(saved, stored_text)
    texts = {s.key: fastjson.dumps(s.metrics) for s in olds}
    lean.fill({key: texts[key] for key in left})
    assert not lean.unfilled
    return left


@st.composite
def polled(draw: st.DrawFn, old: EntityState) -> EntityState:
    """``old`` moved on (or not), maybe Smart+ (never stored) or with who changed it."""
    new = draw(moved(old))
    return replace(new, smart_plus=draw(st.booleans()), changed_by=draw(st.sampled_from([None, "a person"])))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 8), only_ads=st.booleans())
def test_a_lean_previous_gives_the_rows_history_and_previous_snapshot_of_the_full_one(
    data: st.DataObject, n: int, only_ads: bool
) -> None:
    olds = [data.draw(state_of(f"a{i}")) for i in data.draw(st.permutations(range(n)))]  # read in any order
    olds.append(state("c1", Level.CAMPAIGN, budget=data.draw(st.sampled_from([None, 5.0]))))  # carried over
    news = [data.draw(polled(old)) for old in olds[:-1]]
    gone = data.draw(st.integers(-1, n - 1))  # one that disappeared, or none
    saved = {s.key: s for i, s in enumerate(news) if i != gone}
    saved.update({s.key: s for s in [data.draw(state_of("n1"))]})  # one never seen before
    if not only_ads:
        saved[olds[-1].key] = data.draw(polled(olds[-1]))
    levels = [Level.AD] if only_ads else list(Level)

    full = {s.key: as_read(s, decoded=False) for s in olds}
    rows, changes = poll_changes(full, saved, levels)
    fingerprints = data.draw(st.booleans())
    lean = lean_of(olds, fingerprints=fingerprints)
    if fingerprints:
        left = settled(lean, olds, saved)  # read again: only what changed, disappeared or was not saved, and
        written = {(r.level, r.entity_id) for r in rows}  # what the fingerprint cannot tell (a float sum past
        assert all(k not in saved or k in written or stored_text(saved[k]) is None for k in left)  # the largest)
    lean_rows, lean_changes = poll_changes(lean, saved, levels)
    previous = lean.snapshot()

    assert lean_rows == rows and [list(map(type, r)) for r in lean_rows] == [list(map(type, r)) for r in rows]
    assert history(lean_changes) == history(changes)
    assert list(previous.entities) == list(full)  # in the order read
    assert seen_all(previous.entities) == seen_all(full)
    for key in saved.keys() & full.keys():  # the new windows themselves exactly where the full comparison hands
        new, was = saved[key].metrics, full[key].metrics  # them over (not where a sum of floats overflows: the
        shared = [was.get(w) is new[w] for w in new]  # text is then compared as values, not as orjson's)
        assert [previous.entities[key].metrics.get(w) is new[w] for w in new] == shared
    before = Snapshot(ADV, 1, T0, full)
    carried = {k: v for k, v in full.items() if k[0] not in levels}
    current = Snapshot(ADV, 2, T0 + timedelta(minutes=5), {**carried, **saved})
    for metrics in (True, False):
        assert diff_snapshots(previous, current, metrics=metrics) == diff_snapshots(before, current, metrics=metrics)
    assert velocities(current, previous) == velocities(current, before)


def test_an_unchanged_state_stands_for_the_previous_one_only_when_it_reads_the_same() -> None:
    old = state("a1", budget=50.0)
    lean = lean_of([old])
    same = replace(old)
    assert not poll_changes(lean, {same.key: same}, [Level.AD])[0]
    assert lean.snapshot().entities[old.key] is same  # no state of its own
    for other in (replace(old, smart_plus=True), replace(old, changed_by="a person"), replace(old, budget=50)):
        lean, full = lean_of([old]), {old.key: as_read(old, decoded=False)}
        assert not poll_changes(lean, {other.key: other}, [Level.AD])[0]  # nothing stored changed
        assert not poll_changes(full, {other.key: other}, [Level.AD])[0]
        kept = lean.snapshot().entities[old.key]
        assert kept is not other and seen(kept) == seen(full[old.key])


@pytest.mark.parametrize("shared_text", [True, False])
@pytest.mark.parametrize("sids", [True, False])
async def test_a_lean_read_made_whole_is_the_snapshot_load_current_reads(
    store: Store, shared_text: bool, sids: bool
) -> None:
    saved = entities()
    async with store.poll(ADV, T0) as poll:
        poll.save([*saved, state("gone", campaign_id="c1", adgroup_id="g1")])
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        poll.save(saved[::-1])  # rows written in another order than they are read
    full_sids: dict[EntityKey, int] = {}
    lean_sids: dict[EntityKey, int] = {}
    async with reading(store.engine) as conn:
        full = await load_current(conn, ADV, full_sids if sids else None, shared_text=shared_text)
        lean = await load_lean(conn, ADV, lean_sids if sids else None, shared_text=shared_text)
    assert full is not None and lean is not None
    whole = lean.snapshot()
    assert (whole.advertiser_id, whole.poll_id, whole.taken_at) == (full.advertiser_id, full.poll_id, full.taken_at)
    assert [(k, exactly(e)) for k, e in whole.entities.items()] == [(k, exactly(e)) for k, e in full.entities.items()]
    assert lean_sids == full_sids and bool(full_sids) == sids
    assert [(row.id, row.name) for row in lean.values()] == [(e.id, e.name) for e in full.entities.values()]


def test_an_unchanged_entity_whose_floats_sum_past_the_largest_is_compared_as_values_both_ways() -> None:
    """Its sum overflows, so the comparison may not trust the fingerprint (monitor.store.poll_changes: the text is
    then compared as values, and the previous state keeps its own metrics, read from its text): both ways alike."""
    old = state("a1", metrics={"today": {"spend": None, "clicks": 1e308, "ctr": 1e308}})
    new = replace(old)
    lean, full = lean_of([old]), {old.key: as_read(old, decoded=False)}
    assert poll_changes(lean, {new.key: new}, [Level.AD])[0] == poll_changes(full, {new.key: new}, [Level.AD])[0] == []
    kept = lean.snapshot().entities[old.key]
    assert seen(kept) == seen(full[old.key])
    assert (kept.metrics["today"] is new.metrics["today"]) == (full[old.key].metrics["today"] is new.metrics["today"])


def generated(rng: random.Random, advertiser_id: str, ads: int) -> list[EntityState]:
    """An account of every level whose values a seed decides."""

    def metrics() -> dict[str, dict[str, Any]]:
        pick = rng.choice
        return {
            w: {"spend": pick([None, 0, 0.0, 1.5, 2.25]), "clicks": pick([None, 0, 3])} for w in ("today", "lifetime")
        }

    out = [EntityState(Level.ADVERTISER, advertiser_id, advertiser_id, name="account", metrics=metrics())]
    out += [state(f"c{i}", Level.CAMPAIGN, advertiser_id=advertiser_id, budget=rng.choice([None, 0.0, 20.0]),
                  metrics=metrics()) for i in range(3)]  # fmt: skip
    out += [state(f"g{i}", Level.ADGROUP, advertiser_id=advertiser_id, metrics=metrics()) for i in range(3)]
    out += [state(f"a{i:03}", advertiser_id=advertiser_id, metrics=rng.choice([{}, metrics()])) for i in range(ads)]
    return out


def next_poll(rng: random.Random, olds: list[EntityState], advertiser_id: str) -> list[EntityState]:
    """The account a poll later: most entities unchanged, others moved on, renamed, paused, re-budgeted, gone,
    Smart+, with who changed them, or new."""
    out = []
    for old in olds:
        kind = rng.choice(["same"] * 6 + ["metrics", "type", "name", "status", "budget", "gone", "smart", "by"])
        if kind == "gone" and old.level is not Level.ADVERTISER:
            continue
        new = replace(old)
        if kind == "metrics":
            new = replace(old, metrics={"today": {"spend": rng.random(), "clicks": 7}})
        elif kind == "type" and "today" in old.metrics:
            new = replace(old, metrics={**old.metrics, "today": {"spend": 0.0, "clicks": 0.0}})
        elif kind == "name":
            new = replace(old, name=f"{old.name} renamed")
        elif kind == "status":
            new = replace(old, operation_status="DISABLE")
        elif kind == "budget" and old.budget is not None:
            new = replace(old, budget=old.budget + 1)
        elif kind in ("smart", "by"):
            new = replace(old, smart_plus=kind == "smart", changed_by="a person" if kind == "by" else None)
        out.append(new)
    return out + [state(f"n{i}", advertiser_id=advertiser_id) for i in range(rng.randint(0, 3))]


async def _poll_twice(
    store: Store, adv: str, seed: int, levels: list[Level], lean: bool, fingerprints: bool = False
) -> str:
    """Two polls of ``adv`` (the second compared lean, maybe read by fingerprint, or with ``previous`` read
    first: every state made); what the second wrote and saw of the first, and the snapshot it committed, the
    advertiser's id written ADV."""
    rng = random.Random(seed)
    first = generated(rng, adv, 40)
    async with store.poll(adv, T0) as poll:
        poll.save(first)
    second = [s for s in next_poll(rng, first, adv) if s.level in levels]
    async with store.poll(adv, T0 + timedelta(minutes=5), fingerprints=fingerprints) as poll:
        if not lean:
            assert poll.previous is not None  # read before comparing: the full snapshot
        poll.save(second, levels=levels)
        await poll.compare()
        rows, changes = poll.changes()
        previous = poll.previous
        assert previous is not None
        found = [list(rows), history(changes), seen_all(previous.entities), diff_snapshots(previous, poll.current)]
        poll_id = poll.poll_id
    after = await store.snapshot(adv, poll_id)
    assert after is not None
    return repr([*found, seen_all(after.entities)]).replace(adv, "ADV")


@pytest.mark.parametrize("fingerprints", [False, True], ids=["texts", "fingerprints"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("levels", [list(Level), [Level.AD]], ids=["all", "ads"])
async def test_a_poll_compared_lean_writes_and_sees_what_one_compared_in_full_does(
    store: Store, seed: int, levels: list[Level], fingerprints: bool
) -> None:
    assert await _poll_twice(store, ADV, seed, levels, lean=True, fingerprints=fingerprints) == await _poll_twice(
        store, OTHER, seed, levels, lean=False
    )


async def test_a_previous_read_by_fingerprint_holds_no_text_and_reads_again_only_what_changed(store: Store) -> None:
    olds = generated(random.Random(7), ADV, 30)
    async with store.poll(ADV, T0) as poll:
        poll.save(olds)
    news = [replace(s, name="renamed") if s.id == "a001" else s for s in olds if s.id != "a002"]
    news = [replace(s, metrics={"today": {"spend": 9.5}}) if s.id == "a003" else s for s in news]
    asked: list[EntityKey] = []
    async with store.poll(ADV, T0 + timedelta(minutes=5), fingerprints=True) as poll:
        known = poll.known
        assert known is not None and len(known) == len(olds)
        assert all(isinstance(row, LeanRow) and row.text is None for row in known.values())  # no text held
        with pytest.raises(RuntimeError, match="compare"):
            poll.previous  # noqa: B018 (a programming error: the texts are not read yet)
        read = poll._read_texts
        assert read is not None

        async def counted(keys: Any) -> Mapping[EntityKey, str]:
            asked.extend(keys)
            return await read(keys)

        poll._read_texts = counted
        poll.save(news)
        await poll.compare()
        previous = poll.previous
        rows = list(poll.changes()[0])  # (the commit lets its rows go as it writes them)
    assert sorted(k[1] for k in asked) == ["a001", "a002", "a003"]  # renamed, gone, spent: nothing else
    assert sorted(r.entity_id for r in rows) == ["a001", "a002", "a003"]
    assert previous is not None and previous.entities.keys() == {s.key for s in olds}  # (read as in full: above)


async def test_a_previous_read_by_fingerprint_reads_the_history_keys_of_the_rows_read_again_only(
    store: Store,
) -> None:
    """An entity settled unchanged writes no history: its key is not read (nor the join that reads it, with every
    row of the previous snapshot); those that changed or disappeared have theirs, read with their texts, so the
    commit's transaction need not look them up."""
    olds = generated(random.Random(9), ADV, 30)
    async with store.poll(ADV, T0) as poll:
        poll.save(olds)
    async with reading(store.engine) as conn:
        stored = await load_sids(conn, ADV)
    news = [replace(s, name="renamed") if s.id == "a001" else s for s in olds if s.id != "a002"]
    async with store.poll(ADV, T0 + timedelta(minutes=5), fingerprints=True) as poll:
        assert poll._sids == {}  # none read with the rows
        poll.save(news)
        await poll.compare()
        changed = {key: stored[key] for key in stored if key[1] in ("a001", "a002")}
        assert len(changed) == 2 and poll._sids == changed


@pytest.mark.parametrize("how", ["gone", "written since"])
async def test_a_previous_row_written_by_another_process_before_it_is_read_again_is_a_lost_lease(
    store: Store, how: str
) -> None:
    """What the lease rules out, but a poll that lost it meets: another process committed a poll of the same
    advertiser between this one's load and its comparison. Its texts would mix two polls: the poll fails as one
    whose lease was taken over, and writes nothing."""
    olds = generated(random.Random(8), ADV, 5)
    async with store.poll(ADV, T0) as poll:
        poll.save(olds)
    first_id = poll.poll_id
    news = [replace(s, metrics={"today": {"spend": 1.0}}) for s in olds]
    with pytest.raises(LeaseLostError):
        async with store.poll(ADV, T0 + timedelta(minutes=5), fingerprints=True) as poll:
            async with writing(store.engine) as conn:
                change = {"present": False} if how == "gone" else {"changed_poll": first_id + 100}
                await conn.execute(sa.update(entities_t).where(entities_t.c.entity_id == "a004").values(**change))
            poll.save(news)
            await poll.compare()
    async with reading(store.engine) as conn:
        latest = await latest_poll(conn, ADV)
    assert latest is not None and latest[0] == first_id  # the failed poll committed nothing


@pytest.mark.parametrize("smart_plus", [False, True])
async def test_a_poll_read_by_fingerprint_and_not_compared_is_compared_at_its_commit(
    store: Store, smart_plus: bool
) -> None:
    """The commit compares a poll the pipeline did not: the same rows as one compared first (an unchanged
    Smart+ state, which keeps a previous state of its own, included)."""
    found = []
    for adv, compare in ((ADV, True), (OTHER, False)):
        olds = generated(random.Random(9), adv, 20)
        async with store.poll(adv, T0) as poll:
            poll.save(olds)
        news = [replace(s, smart_plus=smart_plus) for s in next_poll(random.Random(10), olds, adv)]
        async with store.poll(adv, T0 + timedelta(minutes=5), fingerprints=True) as poll:
            poll.save(news)
            if compare:
                await poll.compare()
            poll_id = poll.poll_id
        after = await store.snapshot(adv, poll_id)
        assert after is not None
        found.append(repr(seen_all(after.entities)).replace(adv, "ADV"))
    assert found[0] == found[1]
