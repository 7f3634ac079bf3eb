"""A page of campaign|adgroup|ad/get read straight into plain tuples, checked exactly as :meth:`Entity.from_api`
checks each row (issue 18).

Reading a row through :class:`~monitor.tiktok.shape.Fields` and building an :class:`Entity` of it cost about as
much as everything else a poll does with a 100,000-ad list. :func:`read_page` reads each row's dict directly and
takes it as it is when every value has the usual type: ids and texts are strings (an id not blank), the budget is
absent, null or a finite JSON number, the row names this advertiser or none. Any other row (a number where a text
is usual, a string budget, a wrong type, a row that is not an object) is read by ``Entity.from_api``, the general
reader: it converts what it accepts and raises the BadResponseError naming the field for what it refuses. When a
page has a row it refuses, the whole page is read the general way, so the error is the one that reader gives (the
first bad row, rows that are not objects first). The result is the same for every input: the tests compare the
two readers on generated rows.

An :data:`~monitor.domain.EntityFields` tuple holds what :class:`Entity` holds but the level and the advertiser
(the same for the whole list): ``(id, name, operation_status, secondary_status, budget, budget_mode,
campaign_id, adgroup_id, smart_plus)``. Statuses, budget modes and parent ids are shared strings
(:func:`monitor.domain.values.shared`): 100,000 ads hold a handful of statuses and a few thousand parents.
"""

from __future__ import annotations

import sys
from typing import Any

from monitor.domain import EntityFields, Level
from monitor.tiktok.models import UPGRADED_SMART_PLUS, Entity
from monitor.tiktok.shape import Fields

__all__ = ["entity_fields", "read_page"]

_LARGEST_EXACT = 2**53  # a JSON integer budget up to this converts to float exactly (larger ones: the general reader)


def entity_fields(entity: Entity) -> EntityFields:
    """The tuple of an :class:`Entity` (as :func:`read_page` gives for the row it was read from)."""
    return (
        entity.id,
        entity.name,
        entity.operation_status,
        entity.secondary_status,
        entity.budget,
        entity.budget_mode,
        entity.campaign_id,
        entity.adgroup_id,
        entity.smart_plus,
    )


def read_page(level: Level, advertiser_id: str, rows: list[Any], data: Fields) -> list[EntityFields]:
    """Each of a page's ``rows`` (``data.list`` as decoded, in order) as a tuple, or the BadResponseError
    ``Entity.from_api`` raises for the first row it refuses (``data``: the page's answer, for the error)."""
    out = _usual(level, advertiser_id, rows)
    if None not in out:
        return out  # type: ignore[return-value]  # no None in it
    checked = data.rows()  # every row an object, or the error naming the first that is not
    return [
        found if found is not None else entity_fields(Entity.from_api(level, advertiser_id, checked[index]))
        for index, found in enumerate(out)
    ]


def _usual(level: Level, advertiser_id: str, rows: list[Any]) -> list[EntityFields | None]:
    """Each row as a tuple when all its values have the usual types (see the module docstring), else None."""
    if type(advertiser_id) is not str or not advertiser_id or advertiser_id.isspace():
        return [None] * len(rows)
    id_field, name_field = level.id_field, level.name_field
    campaign, ad = level is Level.CAMPAIGN, level is Level.AD
    intern, out, text = sys.intern, list[EntityFields | None](), str
    append = out.append
    for row in rows:
        if type(row) is not dict:
            append(None)
            continue
        get = row.get
        owner, ident, name = get("advertiser_id"), get(id_field), get(name_field)
        operation, secondary, mode, budget = (
            get("operation_status"),
            get("secondary_status"),
            get("budget_mode"),
            get("budget"),
        )
        campaign_id = None if campaign else get("campaign_id")
        adgroup_id = get("adgroup_id") if ad else None
        automation = get("campaign_automation_type") if campaign else None
        if not (
            (owner is None or (type(owner) is text and owner == advertiser_id))
            and type(ident) is text
            and ident
            and not ident.isspace()
            and (name is None or type(name) is text)
            and (operation is None or type(operation) is text)
            and (secondary is None or type(secondary) is text)
            and (mode is None or type(mode) is text)
            and (automation is None or type(automation) is text)
            and (campaign_id is None or (type(campaign_id) is text and campaign_id and not campaign_id.isspace()))
            and (adgroup_id is None or (type(adgroup_id) is text and adgroup_id and not adgroup_id.isspace()))
        ):
            append(None)
            continue
        if budget is not None:
            if type(budget) is float and budget - budget == 0.0:  # finite
                pass
            elif type(budget) is int and -_LARGEST_EXACT <= budget <= _LARGEST_EXACT:
                budget = float(budget)
            else:
                append(None)
                continue
        append(
            (
                ident,
                name,
                None if operation is None else intern(operation),
                None if secondary is None else intern(secondary),
                budget,
                None if mode is None else intern(mode),
                None if campaign_id is None else intern(campaign_id),
                None if adgroup_id is None else intern(adgroup_id),
                automation in UPGRADED_SMART_PLUS,
            )
        )
    return out
