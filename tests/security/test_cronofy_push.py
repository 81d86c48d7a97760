"""`POST /webhooks/cronofy/{key}`: the HMAC is checked first, in constant time.

Set-up for every test: Alice connected through the real connect flow (so a push
channel with an unguessable key exists) and then, behind calbot's back, her profile
was disconnected at Cronofy. Any notification that gets processed makes calbot check
her connection and flip it to `needs_relink`, so "nothing done" is observable: her
state stays `connected`, the sandbox sees no API call, and no row changes.
"""

from __future__ import annotations

import base64
import hmac
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from integrations.cronofy import push
from integrations.cronofy.push import sign
from integrations.web.app import MAX_NOTIFICATION_BYTES
from tests.security.support import changed_tables, db_snapshot
from tests.support import RunningCalbot

SECRET = "sandbox-secret"  # the sandbox's client secret (tests/support settings)
BODY = b'{"notification": {"type": "profile_disconnected"}, "channel": {"channel_id": "x"}}'


@pytest.fixture
async def channel_url(calbot: RunningCalbot) -> AsyncIterator[str]:
    await calbot.connect_calendar("alice")
    sandbox = calbot.runtime.sandbox.state
    [channel] = sandbox.channels()
    user = sandbox.user("alice@contoso.com")
    assert user is not None
    user.connected = False  # silently: only a processed notification would notice
    yield str(channel.callback_url)


async def _state(calbot: RunningCalbot) -> str | None:
    record = await calbot.runtime.store.find_user(calbot.session("alice").actor().user)
    assert record is not None
    connection = await calbot.runtime.store.get_connection(record.id)
    return connection.state if connection else None


async def _post(url: str, body: bytes | Any, headers: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, content=body, headers=headers)


async def _nothing_done(
    calbot: RunningCalbot, url: str, body: bytes | Any, headers: dict[str, Any]
) -> int:
    before = await db_snapshot(calbot.runtime.engine)
    requests = calbot.runtime.sandbox.state.request_count()
    answer = await _post(url, body, headers)
    await calbot.settle()
    assert answer.status_code < 500, answer.text
    assert changed_tables(before, await db_snapshot(calbot.runtime.engine)) == {}
    assert calbot.runtime.sandbox.state.request_count() == requests
    assert await _state(calbot) == "connected"
    return answer.status_code


# --- refused -----------------------------------------------------------------------------------


async def test_control_a_correct_signature_is_processed(
    calbot: RunningCalbot, channel_url: str
) -> None:
    answer = await _post(channel_url, BODY, {push.HEADER: sign(BODY, SECRET)})
    assert answer.status_code == 202
    await calbot.settle()
    assert await _state(calbot) == "needs_relink"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(sign(BODY, "not-the-secret"), id="wrong-secret"),
        pytest.param(sign(BODY + b" ", SECRET), id="signature-of-another-body"),
        pytest.param("sha256=" + sign(BODY, SECRET), id="prefixed"),
        pytest.param(sign(BODY, SECRET)[:-4], id="truncated"),
        pytest.param(sign(BODY, SECRET).lower(), id="case-changed"),
        pytest.param(
            base64.b64encode(hmac.digest(SECRET.encode(), BODY, "sha1")).decode(), id="sha1"
        ),
        pytest.param(",,, ,", id="only-commas"),
        pytest.param("ü" * 44, id="non-ascii"),
    ],
)
async def test_missing_or_wrong_signature_is_401(
    calbot: RunningCalbot, channel_url: str, header: str | None
) -> None:
    headers: dict[str, Any] = {} if header is None else {push.HEADER: header}
    if header is not None and not header.isascii():
        # httpx only sends str header values as ASCII; raw UTF-8 bytes are what a
        # hostile client would put on the wire.
        headers = {push.HEADER: header.encode("utf-8")}
    assert await _nothing_done(calbot, channel_url, BODY, headers) == 401


async def test_body_altered_after_signing_is_401(calbot: RunningCalbot, channel_url: str) -> None:
    altered = BODY.replace(b"profile_disconnected", b"profile_initial_sync_required")
    headers = {push.HEADER: sign(BODY, SECRET)}
    assert await _nothing_done(calbot, channel_url, altered, headers) == 401


async def test_unknown_key_is_404_but_only_after_the_signature(
    calbot: RunningCalbot, channel_url: str
) -> None:
    """Without the secret nobody can even learn whether a channel key exists."""
    unknown = channel_url.rsplit("/", 1)[0] + "/not-a-channel-key"
    good = {push.HEADER: sign(BODY, SECRET)}
    assert await _nothing_done(calbot, unknown, BODY, good) == 404
    assert await _nothing_done(calbot, unknown, BODY, {push.HEADER: "bogus"}) == 401
    assert await _nothing_done(calbot, unknown, BODY, {}) == 401


async def test_oversized_body_is_413(calbot: RunningCalbot, channel_url: str) -> None:
    big = (
        b'{"notification": {"type": "profile_disconnected"}, "pad": "'
        + (b"x" * MAX_NOTIFICATION_BYTES)
        + b'"}'
    )
    headers = {push.HEADER: sign(big, SECRET)}
    assert await _nothing_done(calbot, channel_url, big, headers) == 413


async def test_oversized_chunked_body_is_413(calbot: RunningCalbot, channel_url: str) -> None:
    big = b"x" * (MAX_NOTIFICATION_BYTES + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    headers = {push.HEADER: sign(big, SECRET)}
    assert await _nothing_done(calbot, channel_url, chunks(), headers) == 413


# --- several signatures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda good: f"bogus,{good}", id="second"),
        pytest.param(lambda good: f"{good},bogus", id="first"),
        pytest.param(lambda good: f"{sign(BODY, 'old-secret')},  {good}", id="spaces"),
        pytest.param(lambda good: f",{good},", id="empty-entries"),
    ],
)
async def test_comma_separated_signatures_any_match_is_accepted(
    calbot: RunningCalbot, channel_url: str, make: Callable[[str], str]
) -> None:
    """Cronofy sends one signature per active client secret while a secret is rotated."""
    answer = await _post(channel_url, BODY, {push.HEADER: make(sign(BODY, SECRET))})
    assert answer.status_code == 202
    await calbot.settle()
    assert await _state(calbot) == "needs_relink"


# --- constant time -----------------------------------------------------------------------------


def test_signatures_are_compared_with_compare_digest_and_all_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every candidate goes through `hmac.compare_digest`, even after one matched, so
    neither the bytes nor the position of a match show in the timing."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(push.hmac, "compare_digest", spy)
    good = sign(BODY, SECRET)
    assert push.verify_hmac(BODY, f"{good},bogus1,bogus2", SECRET)
    assert len(compared) == 3
    compared.clear()
    assert not push.verify_hmac(BODY, "bogus1,bogus2", SECRET)
    assert len(compared) == 2
    # And no plain equality on the digest anywhere in the check.
    source = inspect.getsource(push.verify_hmac)
    assert "compare_digest" in source
    assert " == expected" not in source and "expected ==" not in source


async def test_the_webhook_uses_that_check(
    calbot: RunningCalbot, channel_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route really goes through `push.verify_hmac` (not a copy of it)."""
    calls: list[bytes] = []
    real = push.verify_hmac

    def spy(body: bytes, header: str | None, secret: str) -> bool:
        calls.append(body)
        return real(body, header, secret)

    monkeypatch.setattr(push, "verify_hmac", spy)
    answer = await _post(channel_url, BODY, {push.HEADER: "bogus"})
    assert answer.status_code == 401
    assert calls == [BODY]


async def test_a_chunked_notification_is_read_whole(
    calbot: RunningCalbot, channel_url: str
) -> None:
    """A body that arrives in several chunks is verified over all of it, not the first."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(BODY), 16):
            yield BODY[start : start + 16]

    answer = await _post(channel_url, chunks(), {push.HEADER: sign(BODY, SECRET)})
    assert answer.status_code == 202
    await calbot.settle()
    assert await _state(calbot) == "needs_relink"
