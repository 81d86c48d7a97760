"""Slack's OAuth tables: created by our migration to slack-sdk's definitions, tokens
encrypted and rotated, lookups by team whatever the enterprise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import KeyError_, TokenCipher, generate_key
from storage.db import make_engine
from storage.slack_installations import (
    BOTS_TABLE,
    INSTALLATIONS_TABLE,
    STATES_TABLE,
    SlackInstallationStore,
    SlackOAuthStateStore,
    rotate_slack_tokens,
    slack_metadata,
)
from tests.support import database_url

SLACK_TABLES = {BOTS_TABLE, INSTALLATIONS_TABLE, STATES_TABLE}
KEY = generate_key()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(await database_url(tmp_path))
    try:
        yield engine
    finally:
        await engine.dispose()


def _installation(team: str, token: str, enterprise: str | None = None) -> Installation:
    return Installation(
        app_id="ACALBOT",
        enterprise_id=enterprise,
        team_id=team,
        team_name=f"Team {team}",
        bot_token=token,
        bot_id="BCALBOT",
        bot_user_id="UCALBOT",
        bot_scopes="commands,chat:write",
        user_id="U1",
        is_enterprise_install=False,
    )


def _diffs(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    diffs = compare_metadata(context, slack_metadata())
    # Every other table shows up as "not in this metadata": only ours count.
    return [d for d in diffs if _table_of(d) in SLACK_TABLES]


def _table_of(diff: Any) -> str:
    """The table an Alembic autogenerate diff is about."""
    item = diff[0] if isinstance(diff, list) else diff  # modify_* come in lists
    kind, subject = item[0], item[1]
    if kind.endswith("_table"):
        return str(subject.name)
    if kind.endswith(("_index", "_constraint")):
        return str(subject.table.name)
    return str(item[2])  # add_column/remove_column/modify_*: (kind, schema, table, …)


async def test_migration_creates_slack_sdks_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diffs) == []
        # The comparison does look: without the tables, all three would be missing.
        for table in SLACK_TABLES:
            await conn.execute(text(f"DROP TABLE {table}"))
        assert {_table_of(d) for d in await conn.run_sync(_diffs)} == SLACK_TABLES
        await conn.rollback()


async def test_tokens_are_stored_encrypted_and_found_by_team(engine: AsyncEngine) -> None:
    store = SlackInstallationStore("1.2", engine, TokenCipher(KEY))
    await store.async_save(_installation("T1", "xoxb-one"))
    # A workspace inside an Enterprise Grid org: stored with its org id, which the
    # outbox doesn't know when it sends.
    await store.async_save(_installation("T2", "xoxb-two", enterprise="E1"))

    one, two = await store.find_bot_for_team("T1"), await store.find_bot_for_team("T2")
    assert one is not None and one.bot_token == "xoxb-one"
    assert two is not None and two.bot_token == "xoxb-two" and two.enterprise_id == "E1"
    assert await store.find_bot_for_team("T3") is None
    # slack-sdk's own lookup still works through our encrypted columns.
    found = await store.async_find_installation(enterprise_id="E1", team_id="T2")
    assert found is not None and found.bot_token == "xoxb-two"

    async with engine.connect() as conn:
        stored = (await conn.execute(text(f"SELECT bot_token FROM {BOTS_TABLE}"))).scalars()  # noqa: S608
        assert all(t and not t.startswith("xoxb") for t in stored)
    # Another app's client id is another set of installations.
    assert (
        await SlackInstallationStore("9.9", engine, TokenCipher(KEY)).find_bot_for_team("T1")
        is None
    )

    assert await store.delete_team("T2") == 2  # its bot row and its installation row
    assert await store.find_bot_for_team("T2") is None
    assert await store.find_bot_for_team("T1") is not None
    with pytest.raises(RuntimeError, match="db upgrade"):
        await store.create_tables()


async def test_keys_rotate_keeps_slack_tokens_readable(engine: AsyncEngine) -> None:
    old, new = KEY, generate_key()
    await SlackInstallationStore("1.2", engine, TokenCipher(old)).async_save(
        _installation("T1", "xoxb-one")
    )
    assert await rotate_slack_tokens(engine, TokenCipher(f"{new},{old}")) == 2
    bot = await SlackInstallationStore("1.2", engine, TokenCipher(new)).find_bot_for_team("T1")
    assert bot is not None and bot.bot_token == "xoxb-one"
    with pytest.raises(KeyError_):
        await SlackInstallationStore("1.2", engine, TokenCipher(old)).find_bot_for_team("T1")


async def test_states_are_one_time_and_expired_ones_are_swept(engine: AsyncEngine) -> None:
    states = SlackOAuthStateStore(engine)
    stale = await SlackOAuthStateStore(engine, expiration_seconds=-1).async_issue()
    fresh = await states.async_issue()  # issuing sweeps the expired one
    async with engine.connect() as conn:
        left = (await conn.execute(text(f"SELECT state FROM {STATES_TABLE}"))).scalars().all()  # noqa: S608
    assert left == [fresh]
    assert await states.async_consume(stale) is False
    assert await states.async_consume(fresh) is True
    assert await states.async_consume(fresh) is False
