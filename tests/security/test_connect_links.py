"""Connect links and OAuth `state`: unguessable, hashed at rest, single-use, expiring,
bound to the chat user who asked; a state that calbot did not issue for this click is
refused with the 400 page and nothing changes.

Covered elsewhere and not repeated: the raw link token and OAuth tokens absent from a
database dump (tests/storage/test_secrets_at_rest.py), a literal forged state, a state
superseded by a second click, an unknown link (tests/e2e/test_connect_faults.py), the
pages in a real browser (tests/browser/test_connect_pages.py).

What `state` does *not* do: it is not tied to the browser that clicked. Whoever holds
a live state for link A (it is only ever in the URL of A's own browser) and any valid
authorization code can complete link A with that code's calendar. The defence is that
the state never leaves A's browser, and that the success page and the edited DM name
both the chat user and the calendar account, with "Not me? Disconnect"
(`test_a_state_completed_with_another_accounts_code_is_shown_to_its_owner`).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import string
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot import connect as connect_module
from bot.clock import FixedClock
from bot.connect import STATE_MAX_AGE
from integrations.console.session import ConsoleSession
from storage.crypto import StateSigner, generate_key
from tests.security.support import changed_tables, db_snapshot
from tests.support import TEST_KEY, RunningCalbot, running_calbot

URLSAFE = set(string.ascii_letters + string.digits + "-_")


async def _link(calbot: RunningCalbot, user: str) -> str:
    session = calbot.session(user)
    await session.say("/calendar connect")
    await calbot.settle()
    url = session.last_dm().message.buttons()[0].url
    assert url
    return url


async def _click(url: str) -> str:
    """Open a connect link; returns Cronofy's authorize URL it redirected to."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _state_of(authorize_url: str) -> str:
    return parse_qs(urlsplit(authorize_url).query)["state"][0]


async def _sign_in(calbot: RunningCalbot, authorize_url: str, email: str) -> str:
    """The sandbox's consent page, approved; returns the callback URL (code and state)."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{calbot.sandbox_url}/_sandbox/approve",
            json={"authorize_url": authorize_url, "email": email, "decision": "approve"},
        )
    location = answer.json()["location"]
    assert location
    return str(location)


def _with_state(callback_url: str, state: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(callback_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = state
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query


async def _refused_callback(
    calbot: RunningCalbot, base: str, params: dict[str, str], status: int = 400
) -> None:
    before = await db_snapshot(calbot.runtime.engine)
    exchanges = calbot.runtime.sandbox.state.request_count("/oauth/token")
    async with httpx.AsyncClient() as http:
        answer = await http.get(base, params=params)
    await calbot.settle()
    assert answer.status_code == status, answer.text
    assert "We couldn" in answer.text or "already completed" in answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert calbot.runtime.sandbox.state.request_count("/oauth/token") == exchanges
    assert changed_tables(before, await db_snapshot(calbot.runtime.engine)) == {}


# --- unguessable and hashed ------------------------------------------------------------------


async def test_link_tokens_carry_at_least_128_bits(
    calbot: RunningCalbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int | None] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        asked.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(connect_module.secrets, "token_urlsafe", spy)
    tokens = [(await _link(calbot, f"user{n}")).rsplit("/", 1)[1] for n in range(20)]

    # Drawn from the OS CSPRNG with at least 16 random bytes...
    assert asked and all(n is not None and n >= 16 for n in asked)
    for token in tokens:
        # ...and all of them reach the URL: 6 bits per URL-safe base64 character.
        assert set(token) <= URLSAFE
        assert len(token) * math.log2(64) >= 128
    assert len(set(tokens)) == len(tokens)
    # Not a counter or a timestamp in disguise: the characters are spread out.
    joined = "".join(tokens)
    assert len(set(joined)) > 50


async def test_links_are_stored_as_sha256_only(calbot: RunningCalbot) -> None:
    token = (await _link(calbot, "alice")).rsplit("/", 1)[1]
    snapshot = await db_snapshot(calbot.runtime.engine)
    everything = repr(snapshot)
    assert token not in everything
    assert hashlib.sha256(token.encode()).hexdigest() in repr(snapshot["connect_links"])


# --- single use --------------------------------------------------------------------------------


async def test_a_completed_link_and_its_callback_cannot_be_used_again(
    calbot: RunningCalbot,
) -> None:
    url = await _link(calbot, "alice")
    callback = await _sign_in(calbot, await _click(url), "alice@contoso.com")
    async with httpx.AsyncClient() as http:
        done = await http.get(callback)
    assert done.status_code == 200
    await calbot.settle()

    before = await db_snapshot(calbot.runtime.engine)
    async with httpx.AsyncClient() as http:
        again = await http.get(url)
    assert again.status_code == 410 and "already used" in again.text
    assert "location" not in again.headers
    # Replaying the whole callback (state and code) changes nothing and calls nobody.
    base, params = _with_state(callback, parse_qs(urlsplit(callback).query)["state"][0])
    await _refused_callback(calbot, base, params, status=410)
    assert changed_tables(before, await db_snapshot(calbot.runtime.engine)) == {}


async def test_one_callback_loaded_twice_at_once_leaves_no_unused_grant(
    calbot: RunningCalbot,
) -> None:
    """A double navigation or a prefetch: two loads race with one code. Whatever wins,
    no page claims a connection that wasn't saved, and a grant nobody keeps is revoked."""
    url = await _link(calbot, "alice")
    callback = await _sign_in(calbot, await _click(url), "alice@contoso.com")
    sandbox = calbot.runtime.sandbox.state
    sandbox.set_latency(300)  # both loads are in flight before either finishes
    async with httpx.AsyncClient(timeout=30) as http:
        pages = await asyncio.gather(http.get(callback), http.get(callback))
    sandbox.set_latency(0)
    await calbot.settle()

    user = await calbot.runtime.store.find_user(calbot.session("alice").actor().user)
    assert user is not None
    saved = await calbot.runtime.store.get_connection(user.id)
    said_saved = [p for p in pages if p.status_code == 200 or "already saved" in p.text]
    if saved is None:
        assert said_saved == [], [p.text for p in pages]
        assert sandbox.request_count("/oauth/token/revoke") >= 1
    else:
        # One "connected" page and one "already completed", not "Cronofy refused".
        assert len(said_saved) == 2, [p.status_code for p in pages]
    assert all("Traceback" not in p.text for p in pages)


async def test_a_callback_overtaken_by_a_new_click_gives_its_grant_back(
    calbot: RunningCalbot,
) -> None:
    """The link is clicked again while a sign-in is being finished: the new click owns the
    link now, so the finished sign-in saves nothing, says so, and revokes its grant."""
    url = await _link(calbot, "alice")
    callback = await _sign_in(calbot, await _click(url), "alice@contoso.com")
    sandbox = calbot.runtime.sandbox.state
    revokes = sandbox.request_count("/oauth/token/revoke")
    sandbox.set_latency(400)  # the code exchange and the profile reads take 1 s and more
    async with httpx.AsyncClient(timeout=30) as http:
        finishing = asyncio.create_task(http.get(callback))
        await asyncio.sleep(0.1)
        await _click(url)  # a new click replaces the state the callback carries
        page = await finishing
    sandbox.set_latency(0)
    await calbot.settle()

    assert page.status_code == 400, page.text
    assert "got there first" in page.text and "Traceback" not in page.text
    user = await calbot.runtime.store.find_user(calbot.session("alice").actor().user)
    assert user is not None and await calbot.runtime.store.get_connection(user.id) is None
    assert sandbox.request_count("/oauth/token/revoke") == revokes + 1


# --- expiry --------------------------------------------------------------------------------


@pytest.fixture
async def clocked(db_url: str) -> AsyncIterator[tuple[RunningCalbot, FixedClock]]:
    clock = FixedClock(datetime.now(UTC))
    async with running_calbot(db_url, clock=clock) as running:
        yield running, clock


async def test_a_link_expires_after_seven_days(
    clocked: tuple[RunningCalbot, FixedClock],
) -> None:
    calbot, clock = clocked
    url = await _link(calbot, "alice")
    clock.advance(days=6, hours=23)
    assert (await _click(url)).startswith(calbot.sandbox_url)  # still good just before

    fresh = await _link(calbot, "bob")
    clock.advance(days=7, seconds=1)
    before = await db_snapshot(calbot.runtime.engine)
    async with httpx.AsyncClient() as http:
        answer = await http.get(fresh)
    assert answer.status_code == 410 and "expired" in answer.text
    assert changed_tables(before, await db_snapshot(calbot.runtime.engine)) == {}


async def test_a_state_older_than_an_hour_is_refused(
    calbot: RunningCalbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fernet's own timestamp bounds how long someone may sit on the sign-in pages."""
    callback = await _sign_in(calbot, await _click(await _link(calbot, "alice")), "alice@x.com")
    import cryptography.fernet as fernet

    later = datetime.now(UTC).timestamp() + STATE_MAX_AGE + 120
    monkeypatch.setattr(fernet.time, "time", lambda: later)
    base, params = _with_state(callback, parse_qs(urlsplit(callback).query)["state"][0])
    await _refused_callback(calbot, base, params)


# --- bound to the asker --------------------------------------------------------------------


async def test_the_link_connects_the_user_who_asked_and_says_so(calbot: RunningCalbot) -> None:
    """A forwarded link connects the asker's chat identity, never the forwardee's; the
    page and the asker's DM name the calendar that got attached, with a way out."""
    url = await _link(calbot, "alice")
    bob = calbot.session("bob")
    visit = await bob.follow_connect_link(
        url, sandbox_url=calbot.sandbox_url, email="bob@contoso.com"
    )
    assert visit.title == "Your calendar is connected"
    await calbot.settle()

    store = calbot.runtime.store
    alice_user = await store.find_user(calbot.session("alice").actor().user)
    assert alice_user is not None
    connection = await store.get_connection(alice_user.id)
    assert connection is not None and connection.profile_name == "bob@contoso.com"
    assert await store.find_user(bob.actor().user) is None  # Bob's chat user: untouched
    dm = calbot.session("alice").last_dm().message
    assert "bob@contoso.com" in dm.text
    assert [b.label for b in dm.buttons()] == ["Not me? Disconnect"]
    assert bob.inbox() == []


# --- state ---------------------------------------------------------------------------------


def _tamper(state: str) -> list[tuple[str, str]]:
    middle = len(state) // 2
    flipped = state[:middle] + ("A" if state[middle] != "A" else "B") + state[middle + 1 :]
    return [
        ("flipped", flipped),
        ("truncated", state[:-5]),
        ("extended", state + "AAAA"),
        ("padded", state + "="),
        ("empty", ""),
        ("not-base64", "!!!" + state[3:]),
    ]


async def test_tampered_states_get_the_400_page(calbot: RunningCalbot) -> None:
    callback = await _sign_in(
        calbot, await _click(await _link(calbot, "alice")), "alice@contoso.com"
    )
    state = parse_qs(urlsplit(callback).query)["state"][0]
    for _name, bad in _tamper(state):
        base, params = _with_state(callback, bad)
        await _refused_callback(calbot, base, params)
    # The genuine one still works afterwards: the refusals consumed nothing.
    async with httpx.AsyncClient() as http:
        assert (await http.get(callback)).status_code == 200


async def test_states_calbot_did_not_issue_for_this_click_are_refused(
    calbot: RunningCalbot,
) -> None:
    """Well-formed states that name a real link, but were signed with another key, or
    pair a link with a nonce from another link's click, or carry no nonce."""
    alice_auth = await _click(await _link(calbot, "alice"))
    mallory_auth = await _click(await _link(calbot, "mallory"))
    callback = await _sign_in(calbot, mallory_auth, "mallory@contoso.com")
    ours = StateSigner(TEST_KEY)
    alice_link, alice_nonce = _payload(ours, _state_of(alice_auth))
    mallory_link, mallory_nonce = _payload(ours, _state_of(mallory_auth))
    assert alice_link != mallory_link

    forged = [
        StateSigner(generate_key()).sign(f"{mallory_link}:{mallory_nonce}"),  # another key
        ours.sign(f"{alice_link}:{mallory_nonce}"),  # Alice's link, Mallory's click
        ours.sign(f"{mallory_link}:{alice_nonce}"),  # Mallory's link, Alice's click
        ours.sign(f"{mallory_link}:"),
        ours.sign(f"{mallory_link}"),
        ours.sign(f"-{mallory_link}:{mallory_nonce}"),
        ours.sign(f"999999:{mallory_nonce}"),
    ]
    for state in forged:
        base, params = _with_state(callback, state)
        await _refused_callback(calbot, base, params)


def test_the_state_reveals_nothing_about_the_link() -> None:
    """The state is encrypted, not just signed: the link id and nonce are not readable."""
    state = StateSigner(generate_key()).sign("4242:nonce-value")
    assert "4242" not in state and "nonce" not in state
    import base64

    raw = base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))
    assert b"4242" not in raw and b"nonce-value" not in raw


def _payload(signer: StateSigner, state: str) -> tuple[str, str]:
    payload = signer.verify(state, STATE_MAX_AGE)
    assert payload is not None
    link_id, nonce = payload.split(":", 1)
    return link_id, nonce


async def test_a_state_completed_with_another_accounts_code_is_shown_to_its_owner(
    calbot: RunningCalbot,
) -> None:
    """The limit of `state` (see the module docstring): Alice's live state with a code
    for Mallory's calendar completes Alice's link. Everything Alice sees names the
    account, and her "Not me? Disconnect" removes it."""
    alice_auth = await _click(await _link(calbot, "alice"))
    mallory_callback = await _sign_in(
        calbot, await _click(await _link(calbot, "mallory")), "mallory@contoso.com"
    )
    base, params = _with_state(mallory_callback, _state_of(alice_auth))
    async with httpx.AsyncClient() as http:
        page = await http.get(base, params=params)
    assert page.status_code == 200
    assert "mallory@contoso.com" in page.text and "Alice" in page.text
    await calbot.settle()
    alice: ConsoleSession = calbot.session("alice")
    dm = alice.last_dm().message
    assert "mallory@contoso.com" in dm.text
    [not_me] = dm.buttons()
    reply: Any = await alice.press(not_me)
    assert reply is not None and "mallory@contoso.com" in reply.text
    user = await calbot.runtime.store.find_user(alice.actor().user)
    assert user is not None
    assert await calbot.runtime.store.get_connection(user.id) is None
