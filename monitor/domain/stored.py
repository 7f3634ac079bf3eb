"""Metrics as the store keeps them: its canonical JSON text, decoded on first read.

Every poll reads the previous snapshot back (100,000 entities for a large account), yet most of it is only
compared with the new one, and that comparison can be made on the stored text (:mod:`monitor.store.poll_changes`:
the new metrics encoded the same way, compared as text). Decoding every entity's metrics into read-only dicts
cost about 2 kB and several microseconds per entity; kept as text until something reads a value (a rule's
``prev``, the history of an entity that changed), a previous snapshot costs a fraction of that. When the store
has compared a new poll with it before the rules run, an unchanged entity's metrics *are* the new ones
(:meth:`StoredMetrics.adopt`) and a changed one's are those the comparison parsed: nothing is decoded twice.
Reading behaves exactly as the decoded metrics would: read-only windows of read-only values, ``None`` for no
data. Text written in another form (before orjson, or ``-0.0`` for ``0.0``) compares unequal once: that entity's
row is written again, its values and history unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from monitor import fastjson
from monitor.domain.values import EMPTY, READ_ONLY, MetricValue

__all__ = ["StoredMetrics", "read_only"]

Window = Mapping[str, MetricValue]


def read_only(data: Mapping[str, Mapping[str, MetricValue]]) -> Mapping[str, Window]:
    """Parsed stored metrics as the snapshot holds them: read-only windows of read-only values (the dicts are
    wrapped, not copied; a window read-only already is kept: a proxy, or a new poll's ``ReadOnlyDict`` the
    comparison shared where it had not changed)."""
    if not data:
        return EMPTY
    return MappingProxyType({w: m if type(m) in READ_ONLY else MappingProxyType(m) for w, m in data.items()})


class StoredMetrics(Mapping[str, Window]):
    """Read-only metrics (window -> metric -> value) from their stored JSON ``text``, decoded when first read."""

    __slots__ = ("_decoded", "_parsed", "_text")

    def __init__(self, text: str) -> None:
        self._text: str | None = text
        self._decoded: Mapping[str, Window] | None = None
        self._parsed: dict[str, Any] | None = None  # handed over parsed; each window wrapped when first read

    @property
    def text(self) -> str:
        """The stored JSON text; once let go (:meth:`parse_text`), the values encoded again, which is the same text
        (the store's canonical form: the values were read from it, and equal values of equal types encode
        alike)."""
        text = self._text
        return fastjson.dumps(self._metrics()) if text is None else text

    @property
    def text_held(self) -> bool:
        """Whether the stored text is still held (not let go by :meth:`parse_text`)."""
        return self._text is not None

    @property
    def decoded(self) -> bool:
        """Whether the values are at hand (read, or handed over): the text is then no longer the only copy."""
        return self._decoded is not None or self._parsed is not None

    def _metrics(self) -> Mapping[str, Window]:
        if self._decoded is None:
            parsed = self._parsed if self._parsed is not None else fastjson.loads(self.text)
            self._decoded, self._parsed = read_only(parsed), None
        return self._decoded

    def adopt(self, metrics: Mapping[str, Window]) -> None:
        """Take ``metrics`` as the decoded form, so nothing decodes the text again. The caller vouches that they
        are what the text decodes to: equal values of equal types (:mod:`monitor.store.poll_changes` knows it
        when a new poll's metrics encode to the same text). Called for each unchanged entity of a poll (100,000s),
        so :attr:`decoded` is spelled out rather than called."""
        if self._decoded is None and self._parsed is None:
            self._decoded = metrics

    def parse_text(self, hand_over: bool) -> tuple[dict[str, Any] | None, str | None]:
        """The text parsed into plain dicts, and the text, for a comparison (monitor.store.poll_changes): (None,
        None) when the values are at hand already (read, adopted or handed over). ``hand_over``: the parsed dicts
        are taken as the values (the caller no longer changes them but to share a window equal to its own, which
        :func:`read_only` keeps as it is); each window is wrapped read-only when first read, so a rule that reads
        one window of the previous poll (``delta(spend)``) wraps that one alone. Once the values are at hand the
        text is let go: keeping both for the rest of the poll cost about 260 bytes an entity (26 MB at the peak
        of a 100,000-ad poll whose ads all changed); reading :attr:`text` again encodes it."""
        text = self._text
        if self._decoded is not None or self._parsed is not None:
            self._text = None
            return None, None
        assert text is not None  # let go only once decoded
        parsed: dict[str, Any] = fastjson.loads(text)
        if hand_over:
            self._parsed, self._text = parsed, None
        return parsed, text

    def _window(self, parsed: dict[str, Any], window: str) -> Window:
        values: Window = parsed[window]
        if type(values) not in READ_ONLY:  # (a window shared with the new poll is read-only already)
            values = parsed[window] = MappingProxyType(values)
        return values

    def __getitem__(self, window: str) -> Window:
        parsed = self._parsed
        return self._metrics()[window] if parsed is None else self._window(parsed, window)

    def get(self, window: str, default: Any = None) -> Any:
        parsed = self._parsed
        if parsed is None:
            return self._metrics().get(window, default)
        return self._window(parsed, window) if window in parsed else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics())

    def __len__(self) -> int:
        return len(self._metrics())

    def __contains__(self, window: object) -> bool:
        return window in self._metrics()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self._metrics()) == dict(other)

    __hash__ = None  # type: ignore[assignment]  # like the dicts it stands for

    def __repr__(self) -> str:
        return f"StoredMetrics({self.text!r})"
