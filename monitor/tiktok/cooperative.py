"""Long loops on the event loop that let it run in between (issue 18).

Turning 100,000 rows into objects takes about a second and a half of CPU; done in one go on the event loop it
holds back every request another task was granted meanwhile (and every other advertiser's poll). Iterated with
:func:`cooperative`, the loop gets control back every :data:`EVERY` items, a few milliseconds apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TypeVar

_T = TypeVar("_T")

#: Items between two yields to the event loop: a few milliseconds of work for the loops that use it.
EVERY = 200


async def slices(items: Sequence[_T], every: int = EVERY * 5) -> AsyncIterator[Sequence[_T]]:
    """``items`` in slices of ``every``, giving the event loop a turn between two: for loops whose body is
    cheap, where a generator step per item would cost more than the body."""
    for start in range(0, len(items), every):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + every]


async def cooperative(items: Iterable[_T], every: int = EVERY) -> AsyncIterator[_T]:
    """``items``, giving the event loop a turn after every ``every`` of them."""
    for index, item in enumerate(items, 1):
        yield item
        if index % every == 0:
            await asyncio.sleep(0)
