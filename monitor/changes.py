"""Who changed an entity's status or budget between two polls: ``changed_by``, from TikTok's Change Log. Pure.

The poll asks the Change Log (:mod:`monitor.whochanged`) only about the entities whose ``operation_status`` or
``budget`` the diff shows changed (:func:`asked`); each change it returns is classified (:func:`classify`):

* an app id: ``"monitor"`` when it is this monitor's app id (``[tiktok] app_id``), ``"another app"`` otherwise;
* source "System" (or operator "TikTok"): ``"TikTok"``, its own changes (e.g. a campaign it switched off);
* no app id, made in TikTok Ads Manager (or any web or mobile front end) or by a masked e-mail: ``"a person"``;
* anything else (an app change when the monitor's app id is not configured, an unknown source): None, no data.

An entity changed several times in the window is attributed to its latest change of the field the diff saw
change (status before budget when both changed); an entity the log says nothing about has no ``changed_by``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from monitor.domain import EntityKey, Level
from monitor.domain.holds import A_PERSON

MONITOR, ANOTHER_APP, TIKTOK = "monitor", "another app", "TikTok"
#: Every value ``changed_by`` can hold (rules compare with these).
CHANGED_BY = (MONITOR, ANOTHER_APP, A_PERSON, TIKTOK)
#: The fields whose changes the Change Log is read for, and its module for each.
FIELDS = MappingProxyType({"operation_status": "STATUS", "budget": "BUDGET"})
#: The Change Log's object type of each level that can change status or budget.
OBJECT_TYPES = MappingProxyType({Level.CAMPAIGN: "CAMPAIGN", Level.ADGROUP: "ADGROUP", Level.AD: "AD"})
_PEOPLE_SOURCES = ("ads manager", "web", "mobile", "app center", "business center")


def asked(changes: Iterable[tuple[EntityKey, str]]) -> dict[EntityKey, frozenset[str]]:
    """The entities to ask about and which of their fields changed, from the diff's (key, field) pairs."""
    out: dict[EntityKey, set[str]] = {}
    for key, name in changes:
        if name in FIELDS and key[0] in OBJECT_TYPES:
            out.setdefault(key, set()).add(name)
    return {key: frozenset(names) for key, names in out.items()}


def classify(source: str | None, operator: str | None, app_id: str | None, ours: str | None) -> str | None:
    """Who made one change (see the module docstring); ``ours`` is the monitor's app id (None: not known)."""
    src = (source or "").strip().lower()
    if app_id:
        if ours is None:
            return None
        return MONITOR if app_id.strip() == ours else ANOTHER_APP
    if src == "system" or (operator or "").strip().lower() == "tiktok":
        return TIKTOK
    if "api" in src:  # an app's change without its app id: which app is not known
        return None
    if any(word in src for word in _PEOPLE_SOURCES) or "@" in (operator or ""):
        return A_PERSON
    return None


def changed_by(
    records: Iterable[tuple[str | None, str | None, str | None, str | None, str | None, str | None, str | None]],
    wanted: Mapping[EntityKey, frozenset[str]],
    ours: str | None,
) -> dict[EntityKey, str]:
    """``changed_by`` of each entity of ``wanted`` the records explain.

    ``records`` are (time, object type, object id, module, source, operator, app id) of the Change Log's rows;
    times are its text ("YYYY-MM-DD HH:MM:SS", in one time zone), so they order as text.
    """
    levels = {kind: level for level, kind in OBJECT_TYPES.items()}
    latest: dict[tuple[EntityKey, str], tuple[str, str | None]] = {}
    for time, kind, object_id, module, source, operator, app_id in records:
        level = levels.get((kind or "").upper())
        if level is None or object_id is None:
            continue
        key = (level, object_id)
        fields = wanted.get(key, frozenset())
        name = next((f for f in fields if FIELDS[f] == (module or "").upper()), None)
        if name is None:
            continue
        when = time or ""
        if (key, name) not in latest or when >= latest[(key, name)][0]:
            latest[(key, name)] = (when, classify(source, operator, app_id, ours))
    out: dict[EntityKey, str] = {}
    for key in wanted:
        for name in FIELDS:  # status first: a pause says more about who than a budget does
            found = latest.get((key, name))
            if found is not None and found[1] is not None and key not in out:
                out[key] = found[1]
    return out
