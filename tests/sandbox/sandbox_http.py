"""Raw-HTTP helpers for the sandbox tests (a uniquely named module: test directories have no __init__)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

#: 16:30 in New York (Nov 24), 10:30 in Auckland (Nov 25), 11:30 in Honolulu (Nov 24), 06:30 in Tokyo (Nov 25).
START = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
NY, AKL, HNL, TYO = (f"700000000000000000{i}" for i in range(1, 5))
TOKEN = "sandbox-token"


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any
    text: str

    @property
    def code(self) -> int:
        return self.body["code"]

    @property
    def data(self) -> Any:
        return self.body["data"]


class Api:
    """Raw HTTP against a served sandbox: GET params that are not strings are JSON-encoded, as the docs say."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.root = base_url + "/open_api/v1.3/"

    async def get(self, path: str, *, headers: dict[str, str] | None = None, **params: Any) -> Reply:
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with self.session.get(self.root + path, params=query, headers=_auth(headers)) as r:
            return await _reply(r)

    async def post(
        self, path: str, body: Any = None, *, headers: dict[str, str] | None = None, data: Any = None
    ) -> Reply:
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        async with self.session.post(self.root + path, headers=_auth(headers), **kwargs) as r:
            return await _reply(r)

    async def admin(self, method: str, path: str, body: Any = None) -> Reply:
        async with self.session.request(method, self.base_url + path, json=body) as r:
            return await _reply(r)


def _auth(headers: dict[str, str] | None) -> dict[str, str]:
    return {"Access-Token": TOKEN} if headers is None else headers


async def _reply(r: aiohttp.ClientResponse) -> Reply:
    text = await r.text()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return Reply(r.status, body, r.headers, text)


LEVEL_ID = {
    "AUCTION_ADVERTISER": "advertiser_id",
    "AUCTION_CAMPAIGN": "campaign_id",
    "AUCTION_ADGROUP": "adgroup_id",
    "AUCTION_AD": "ad_id",
}


async def report(
    api: Api,
    advertiser_id: str,
    level: str,
    day: str,
    *,
    metrics: list[str] | None = None,
    ids: list[str] | None = None,
    end: str | None = None,
    time: str | None = None,
    **extra: Any,
) -> dict[Any, dict[str, str]]:
    """A sync report (all pages of up to 1000 rows) as {id or (id, time label): metrics}."""
    id_dim = LEVEL_ID[level]
    params: dict[str, Any] = {
        "advertiser_id": advertiser_id,
        "report_type": "BASIC",
        "data_level": level,
        "dimensions": [id_dim, time] if time else [id_dim],
        "metrics": metrics or ["spend", "impressions", "clicks", "conversion"],
        "start_date": day,
        "end_date": end or day,
        "page_size": "1000",
        **extra,
    }
    if ids is not None:
        params["filtering"] = [{"field_name": id_dim + "s", "filter_type": "IN", "filter_value": json.dumps(ids)}]
    r = await api.get("report/integrated/get/", **params)
    assert r.code == 0, r.body
    assert r.data["page_info"]["total_page"] <= 1
    out: dict[Any, dict[str, str]] = {}
    for row in r.data["list"]:
        key = row["dimensions"][id_dim]
        out[(key, row["dimensions"][time]) if time else key] = row["metrics"]
    return out
