from __future__ import annotations

from datetime import UTC, datetime

from integrations.cronofy.retry import parse_retry_after


def test_parse_retry_after():
    now = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Mon, 04 May 2026 09:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 04 May 2026 08:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
