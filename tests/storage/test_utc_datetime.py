"""Times with any offset are stored as the same instant in UTC (SQLite drops offsets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from storage.models import UTCDateTime


def _roundtrip(value: datetime) -> datetime:
    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime())
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, at=value))
        stored = conn.execute(select(table.c.at)).scalar_one()
    engine.dispose()
    return stored


def test_a_time_pasted_with_an_offset_reads_back_as_the_same_instant() -> None:
    pasted = datetime(2026, 11, 27, 10, 12, tzinfo=timezone(timedelta(hours=1)))
    stored = _roundtrip(pasted)
    assert stored == pasted
    assert stored == datetime(2026, 11, 27, 9, 12, tzinfo=UTC)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(Exception, match="naive datetime"):
        _roundtrip(datetime(2026, 11, 27, 10, 12))
