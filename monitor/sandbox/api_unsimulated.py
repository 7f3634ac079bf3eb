"""Endpoints TikTok has and the sandbox does not simulate: a 40002 saying so, never a 404 (issue 20).

Airbyte's ``source-tiktok-marketing`` 4.7.0 reads these beside the campaigns, ad groups, ads, advertisers and
reports the sandbox answers: custom audiences, creative assets (music, portfolios, images, videos), Spark Ads
videos and pixels. A 404 would say the path does not exist at TikTok; a 40002 naming the endpoint says the
sandbox chose not to model it (README "The sandbox" lists them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from monitor.sandbox.call import Call
from monitor.sandbox.params import param_error

#: GET endpoints of TikTok's that the sandbox refuses (path relative to /open_api/v1.3/).
NOT_SIMULATED = (
    "dmp/custom_audience/list/",
    "file/music/get/",
    "creative/portfolio/list/",
    "file/image/ad/search/",
    "file/video/ad/search/",
    "tt_video/list/",
    "pixel/list/",
    "pixel/instant_page/event/",
    "pixel/event/stats/",
)


def refusal(path: str) -> Callable[[Call], Awaitable[Any]]:
    """The handler of one endpoint that is not simulated."""

    async def refuse(call: Call) -> Any:
        raise param_error(f"{path} is not simulated by the sandbox (see README, The sandbox).")

    return refuse
