"""When /api/messages exists: with an app id, or unauthenticated next to the sandbox only."""

from __future__ import annotations

import pytest

from integrations.runtime import build_runtime
from integrations.teams import ROUTE
from tests.support import make_settings

REAL_CRONOFY = {"CRONOFY_CLIENT_ID": "calbot-prod", "CRONOFY_CLIENT_SECRET": "secret"}


def _post_paths(runtime) -> set[str]:  # type: ignore[no-untyped-def]
    return {
        r.resource.canonical
        for r in runtime.web.router.routes()
        if r.method == "POST" and r.resource is not None
    }


@pytest.mark.parametrize(
    ("overrides", "mounted", "banner"),
    [
        ({}, True, "local mode"),  # the demo: built-in sandbox, no Microsoft app
        (REAL_CRONOFY, False, "off (set MICROSOFT_APP_ID"),  # a deployment that forgot it
        (
            REAL_CRONOFY
            | {
                "MICROSOFT_APP_ID": "00000000-0000-0000-0000-0000000000aa",
                "MICROSOFT_APP_PASSWORD": "pw",
            },
            True,
            "MultiTenant app",
        ),
    ],
)
async def test_the_teams_route_needs_an_app_id_outside_the_sandbox(
    db_url: str, overrides: dict[str, str], mounted: bool, banner: str
) -> None:
    settings = make_settings(db_url, **overrides)
    runtime = await build_runtime(settings)
    try:
        assert (ROUTE in _post_paths(runtime)) is mounted
        assert ("teams" in runtime.chats) is mounted
        assert settings.surfaces()["teams"].startswith(banner)
    finally:
        await runtime.close()
