"""Helpers shared by the security tests: what "nothing was processed" means, checked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Base

Snapshot = dict[str, list[tuple[Any, ...]]]


async def db_snapshot(engine: AsyncEngine) -> Snapshot:
    """Every row of every table, in a stable order.

    Comparing two snapshots is the strongest form of "nothing was processed": not only
    no new user or outbox row, but no changed timestamp, state or counter either.
    """
    snapshot: Snapshot = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


def changed_tables(before: Snapshot, after: Snapshot) -> dict[str, int]:
    """Tables whose rows differ, with the row-count difference (0 = rows edited)."""
    return {
        name: len(after.get(name, [])) - len(rows)
        for name, rows in before.items()
        if after.get(name, []) != rows
    }


def row_count(snapshot: Snapshot) -> int:
    return sum(len(rows) for rows in snapshot.values())
