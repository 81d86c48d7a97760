"""Tokens are encrypted at rest and connect links are stored only as hashes."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.crypto import KeyError_, TokenCipher, generate_key
from tests.support import RunningCalbot


async def _dump(calbot: RunningCalbot) -> str:
    rows: list[str] = []
    async with calbot.runtime.engine.connect() as conn:
        for table in ("calendar_connections", "connect_links", "outbox", "chat_users"):
            result = await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            rows.extend(repr(tuple(row)) for row in result)
    return "\n".join(rows)


async def test_database_holds_no_plaintext_token_or_link(calbot: RunningCalbot) -> None:
    alice = calbot.session("alice")
    await alice.say("/calendar connect")
    await calbot.settle()
    url = alice.last_dm().message.buttons()[0].url
    assert url
    link_token = url.rsplit("/", 1)[1]
    await alice.follow_connect_link(url, sandbox_url=calbot.sandbox_url)

    user = await calbot.runtime.store.find_user(alice.actor().user)
    assert user is not None
    tokens = await calbot.runtime.store.connection_tokens(user.id)
    assert tokens is not None

    dump = await _dump(calbot)
    assert tokens.access_token not in dump
    assert tokens.refresh_token not in dump
    assert link_token not in dump
    assert "alice@contoso.com" in dump  # the dump did read the rows


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    old, new = generate_key(), generate_key()
    secret = TokenCipher(old).encrypt("refresh-token-value")
    rotated = TokenCipher(f"{new},{old}")
    assert rotated.decrypt(secret) == "refresh-token-value"
    fresh = rotated.rotate(secret)
    assert TokenCipher(new).decrypt(fresh) == "refresh-token-value"
    with pytest.raises(KeyError_):
        TokenCipher(generate_key()).decrypt(secret)
