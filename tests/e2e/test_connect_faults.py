"""Bad input and outages in the connect flow: clear words, nothing half-stored."""

from __future__ import annotations

import httpx

from tests.support import RunningCalbot


async def _link(calbot: RunningCalbot, user: str) -> str:
    session = calbot.session(user)
    await session.say("/calendar connect")
    await calbot.settle()
    url = session.last_dm().message.buttons()[0].url
    assert url
    return url


async def test_cronofy_down_during_exchange_tells_the_user_and_stores_nothing(
    calbot: RunningCalbot,
) -> None:
    alice = calbot.session("alice")
    url = await _link(calbot, "alice")
    calbot.runtime.sandbox.state.fail_next(20, status=503)

    visit = await alice.follow_connect_link(url, sandbox_url=calbot.sandbox_url)
    assert visit.status == 503
    assert visit.title == "Connecting your calendar didn't finish"
    await calbot.settle()

    user = await calbot.runtime.store.find_user(alice.actor().user)
    assert user is not None
    assert await calbot.runtime.store.get_connection(user.id) is None
    dm = alice.last_dm()
    assert "Cronofy didn't answer" in dm.message.blocks[0].text  # type: ignore[union-attr]

    # Once Cronofy is back, the same link works.
    calbot.runtime.sandbox.state.clear_faults()
    again = await alice.follow_connect_link(url, sandbox_url=calbot.sandbox_url)
    assert again.title == "Your calendar is connected"


async def test_forged_state_is_refused_and_changes_nothing(calbot: RunningCalbot) -> None:
    await _link(calbot, "mallory")
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{calbot.url}/oauth/cronofy/callback", params={"code": "x" * 32, "state": "forged"}
        )
    assert answer.status_code == 400
    assert "couldn" in answer.text and "Traceback" not in answer.text
    assert calbot.runtime.sandbox.state.request_count("/oauth/token") == 0


async def test_callback_for_another_click_is_refused(calbot: RunningCalbot) -> None:
    """Clicking the link twice issues a new state; the first one no longer completes."""
    url = await _link(calbot, "alice")
    async with httpx.AsyncClient() as http:
        first = (await http.get(url)).headers["location"]
        second = (await http.get(url)).headers["location"]
        sandbox = calbot.sandbox_url
        old = await http.post(
            f"{sandbox}/_sandbox/approve",
            json={"authorize_url": first, "email": "alice@contoso.com", "decision": "approve"},
        )
        refused = await http.get(old.json()["location"])
        assert refused.status_code == 400
        new = await http.post(
            f"{sandbox}/_sandbox/approve",
            json={"authorize_url": second, "email": "alice@contoso.com", "decision": "approve"},
        )
        accepted = await http.get(new.json()["location"])
        assert accepted.status_code == 200


async def test_unknown_link_explains_and_offers_a_new_one(calbot: RunningCalbot) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{calbot.url}/connect/not-a-real-token")
    assert answer.status_code == 404
    assert "/calendar connect" in answer.text
    assert answer.headers["cache-control"] == "no-store"
