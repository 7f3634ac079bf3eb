"""user/info/: the TikTok for Business user behind the access token (tiktok-api.md §1 "Token sanity check").

The Singer tap calls it (without the trailing slash) to check its token before a sync; the server answers both
spellings. The data is the sandbox's fixed user: ``core_user_id``, ``display_name``, masked ``email``,
``avatar_url`` and ``create_time`` (Unix seconds).
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox.call import Call

USER = {
    "core_user_id": "7011111111111111111",
    "display_name": "Sandbox user",
    "email": "s***x@example.com",
    "avatar_url": "",
    "create_time": 1_600_000_000,
}


async def user_info(call: Call) -> dict[str, Any]:
    return dict(USER)
