"""Slack's OAuth install tables on calbot's database, with tokens encrypted at rest.

slack-sdk's `AsyncSQLAlchemyInstallationStore` and `AsyncSQLAlchemyOAuthStateStore` do
the work. What calbot changes:

- The tables are created by Alembic (migration 0005), never by the stores'
  `create_tables()`, so `serve`'s migration check stays the one source of truth.
- Token columns go through `TokenCipher` like every other secret (DESIGN: tokens are
  encrypted at rest) and take part in `keys rotate`.
- Lookups and deletes by team id alone. slack-sdk matches `enterprise_id` exactly, but a
  workspace inside an Enterprise Grid org is stored with its org's id while the outbox
  only knows the team id; team ids are unique across Slack.
- Issuing a state also drops expired ones (slack-sdk only deletes consumed states, so
  every abandoned install would stay forever).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import TokenCipher

BOTS_TABLE = "slack_bots"
INSTALLATIONS_TABLE = "slack_installations"
STATES_TABLE = "slack_oauth_states"
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
STATE_TTL_SECONDS = 600  # Slack's consent screen rarely takes longer; bolt's default too


class EncryptedText(sa.TypeDecorator[str]):
    """Text encrypted with the token key on the way in, decrypted on the way out.

    Fernet output is ~2.5× the plaintext, so the column is TEXT, not slack-sdk's
    VARCHAR(200). Only `IS NULL` is ever compared, which works on ciphertext.
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, cipher: TokenCipher) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.decrypt(value)


def installation_tables(
    metadata: sa.MetaData, cipher: TokenCipher | None = None
) -> tuple[sa.Table, sa.Table]:
    """slack-sdk's bots and installations tables with the token columns swapped.

    Built from slack-sdk's own definitions so a column it adds shows up as a migration
    diff (tests/storage/test_slack_installations.py) instead of a failing INSERT.
    Without a cipher the token columns are plain TEXT (what Alembic compares against).
    """
    bots = SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS_TABLE)
    installations = SQLAlchemyInstallationStore.build_installations_table(
        metadata, INSTALLATIONS_TABLE
    )
    for table in (bots, installations):
        for name in TOKEN_COLUMNS:
            if name in table.c:
                table.c[name].type = EncryptedText(cipher) if cipher else sa.Text()
    return bots, installations


def state_table(metadata: sa.MetaData) -> sa.Table:
    table = AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, STATES_TABLE)
    # Every callback looks its state up; slack-sdk's table has no index for that.
    sa.Index(f"{STATES_TABLE}_state_idx", table.c.state)
    return table


def slack_metadata() -> sa.MetaData:
    """The three tables as migration 0005 creates them (Alembic's target metadata)."""
    metadata = sa.MetaData()
    installation_tables(metadata)
    state_table(metadata)
    return metadata


class SlackInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack-sdk's async SQLAlchemy store on our engine, tokens encrypted."""

    def __init__(self, client_id: str, engine: AsyncEngine, cipher: TokenCipher) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.metadata = sa.MetaData()
        self.bots, self.installations = installation_tables(self.metadata, cipher)

    async def create_tables(self) -> None:
        raise RuntimeError("Slack's tables are created by `python app.py db upgrade`")

    async def find_bot_for_team(self, team_id: str) -> Bot | None:
        """The newest bot token installed in a workspace, whatever its enterprise id."""
        c = self.bots.c
        query = (
            self.bots.select()
            .where(c.client_id == self.client_id, c.team_id == team_id, c.bot_token.is_not(None))
            .order_by(sa.desc(c.installed_at), sa.desc(c.id))
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else SQLAlchemyInstallationStore.build_bot_entity(row)

    async def delete_team(self, team_id: str) -> int:
        """Forget every token of a workspace (uninstalled, or its bot token revoked)."""
        deleted = 0
        async with self.engine.begin() as conn:
            for table in (self.bots, self.installations):
                result = await conn.execute(
                    table.delete().where(
                        table.c.client_id == self.client_id, table.c.team_id == team_id
                    )
                )
                deleted += result.rowcount or 0
        return deleted


class SlackOAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack-sdk's one-time OAuth states, on our engine; issuing also sweeps old ones."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = STATE_TTL_SECONDS) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine)
        self.metadata = sa.MetaData()
        self.oauth_states = state_table(self.metadata)

    async def create_tables(self) -> None:
        raise RuntimeError("Slack's tables are created by `python app.py db upgrade`")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        now = normalize_datetime_for_db(datetime.now(UTC))  # naive UTC, like slack-sdk
        async with self.engine.begin() as conn:
            await conn.execute(
                self.oauth_states.delete().where(self.oauth_states.c.expire_at < now)
            )
        return await super().async_issue(*args, **kwargs)


async def rotate_slack_tokens(engine: AsyncEngine, cipher: TokenCipher, batch: int = 500) -> int:
    """Re-encrypt Slack tokens with the newest key (part of `python app.py keys rotate`)."""
    rotated = 0
    for table in installation_tables(sa.MetaData()):  # TEXT columns: ciphertext as stored
        columns = [table.c[name] for name in TOKEN_COLUMNS if name in table.c]
        last_id = 0
        while True:
            async with engine.begin() as conn:
                rows = (
                    await conn.execute(
                        sa.select(table.c.id, *columns)
                        .where(table.c.id > last_id)
                        .order_by(table.c.id)
                        .limit(batch)
                    )
                ).all()
                for row in rows:
                    values = {
                        c.name: cipher.rotate(getattr(row, c.name))
                        for c in columns
                        if getattr(row, c.name) is not None
                    }
                    if values:
                        await conn.execute(
                            table.update().where(table.c.id == row.id).values(**values)
                        )
                        rotated += 1
            if not rows:
                break
            last_id = rows[-1].id
    return rotated
