from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.entra import (
    CRONOFY_APP_ID,
    MAX_INPUT_CHARS,
    ParsedError,
    parse_error_text,
    parse_timestamp,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "entra"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_troubleshooting_block_fields() -> None:
    parsed = parse_error_text(fixture("troubleshooting_90094.txt"))
    assert parsed.codes == ("AADSTS90094",)
    assert parsed.primary_code == "AADSTS90094"
    assert parsed.request_id == "5a1f0c2e-7b3d-4e8a-9c61-0d2f4b6a8e10"
    assert parsed.correlation_id == "9e3b7d21-4c5a-4f6e-8b1d-2a7c9e0f3b54"
    assert parsed.timestamp == datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)
    assert parsed.timestamp_text == "2026-11-27T09:12:44Z"
    assert parsed.app_name == "Cronofy for Office 365"
    assert parsed.app_id == CRONOFY_APP_ID
    assert parsed.cronofy_app_ids == (CRONOFY_APP_ID,)
    assert parsed.message == "AADSTS90094: The grant requires admin permission."
    assert "need_admin_approval" in parsed.phrases
    assert parsed.wrong_cronofy_app is None
    assert not parsed.truncated
    assert not parsed.empty


def test_consent_page_without_ids() -> None:
    parsed = parse_error_text(fixture("need_admin_approval.txt"))
    assert parsed.codes == ()
    assert parsed.primary_code is None
    assert parsed.phrases == ("need_admin_approval", "admin_consent_required")
    assert parsed.correlation_id is None and parsed.timestamp is None


def test_approval_required_page() -> None:
    parsed = parse_error_text(fixture("approval_required.txt"))
    assert "approval_required" in parsed.phrases
    assert "need_admin_approval" not in parsed.phrases


def test_this_app_is_blocked() -> None:
    parsed = parse_error_text(fixture("app_blocked.txt"))
    assert parsed.phrases == ("app_blocked",)


def test_app_disabled_7000112() -> None:
    parsed = parse_error_text(fixture("app_disabled_7000112.txt"))
    assert parsed.codes == ("AADSTS7000112",)
    assert "app_blocked" in parsed.phrases
    assert parsed.request_id == "0c6d2b1a-93e4-4f57-a8d2-6b1e0f9c3a77"
    assert parsed.cronofy_app_ids == (CRONOFY_APP_ID,)
    # "Flag sign-in errors for review: Enable flagging" must not look like a blocked app.
    assert parsed.message is not None and parsed.message.startswith("AADSTS7000112")


def test_not_assigned_50105() -> None:
    parsed = parse_error_text(fixture("not_assigned_50105.txt"))
    assert parsed.primary_code == "AADSTS50105"
    assert "not_assigned" in parsed.phrases
    assert parsed.timestamp == datetime(2026, 11, 27, 11, 45, 9, tzinfo=UTC)


def test_conditional_access_error_code_field() -> None:
    parsed = parse_error_text(fixture("conditional_access_53003.txt"))
    assert parsed.codes == ("AADSTS53003",)  # from "Error Code: 53003"
    assert parsed.app_name == "Cronofy for Office 365"
    assert parsed.app_id == CRONOFY_APP_ID
    assert parsed.correlation_id == "d4c3b2a1-f5e4-4b6a-8d7c-4c3b2a1f0e9d"
    # seven fractional digits, cut to microseconds
    assert parsed.timestamp == datetime(2026, 11, 27, 12, 30, 0, 123456, tzinfo=UTC)
    assert "conditional_access" in parsed.phrases


def test_two_codes_keeps_both_and_picks_the_most_specific() -> None:
    parsed = parse_error_text(fixture("two_codes.txt"))
    assert parsed.codes == ("AADSTS65001", "AADSTS90094")
    assert parsed.primary_code == "AADSTS90094"
    assert parsed.trace_id == "6e1d3c5b-7a9f-4b2d-8e0c-1f3a5b7d9c2e"
    assert parsed.correlation_id == "8a6c4e2f-0b9d-4f7e-a5c3-e1d9b7f5a3c1"
    assert parsed.timestamp == datetime(2026, 11, 27, 8, 59, 2, tzinfo=UTC)


def test_german_page() -> None:
    parsed = parse_error_text(fixture("german_need_admin_approval.txt"))
    assert "need_admin_approval" in parsed.phrases
    assert "approval_required" not in parsed.phrases
    assert parsed.request_id == "44a5b6c7-d8e9-4f0a-9b1c-2d3e4f5a6b7c"
    assert parsed.correlation_id == "55b6c7d8-e9f0-4a1b-8c2d-3e4f5a6b7c8d"
    assert parsed.timestamp == datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)


def test_french_page_with_offset_timestamp() -> None:
    parsed = parse_error_text(fixture("french_need_admin_approval.txt"))
    assert "need_admin_approval" in parsed.phrases
    assert parsed.request_id == "66c7d8e9-f0a1-4b2c-9d3e-4f5a6b7c8d9e"
    assert parsed.correlation_id == "77d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e0f"
    assert parsed.timestamp == datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)
    assert parsed.timestamp is not None
    assert parsed.timestamp.utcoffset() == timedelta(hours=1)


def test_url_encoded_redirect() -> None:
    parsed = parse_error_text(fixture("redirect_declined_65004.txt"))
    assert parsed.codes == ("AADSTS65004",)
    assert parsed.oauth_error == "access_denied"
    assert parsed.trace_id == "2b4d6f8a-0c1e-4a3b-9d5f-7a9c1e3b5d7f"
    assert parsed.correlation_id == "3c5e7a9b-1d2f-4b4c-8e6a-8b0d2f4a6c8e"
    assert parsed.timestamp == datetime(2026, 11, 27, 9, 20, 31, tzinfo=UTC)
    assert "declined_consent" in parsed.phrases


def test_token_endpoint_json() -> None:
    parsed = parse_error_text(fixture("token_error.json"))
    assert parsed.codes == ("AADSTS65001",)
    assert parsed.oauth_error == "invalid_grant"
    assert parsed.trace_id == "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
    assert parsed.correlation_id == "f2a3b4c5-d6e7-4f8a-9b0c-1d2e3f4a5b6c"
    assert parsed.timestamp == datetime(2026, 11, 27, 16, 40, 1, tzinfo=UTC)


def test_json_error_codes_only() -> None:
    parsed = parse_error_text('{"error":"invalid_client","error_codes":[7000112, 50105]}')
    assert parsed.codes == ("AADSTS7000112", "AADSTS50105")
    assert parsed.primary_code == "AADSTS7000112"


def test_wrong_cronofy_app_is_flagged() -> None:
    parsed = parse_error_text(fixture("wrong_cronofy_app.txt"))
    assert parsed.wrong_cronofy_app == "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"


def test_guest_account() -> None:
    parsed = parse_error_text(fixture("guest_50020.txt"))
    assert parsed.primary_code == "AADSTS50020"
    assert "external_account" in parsed.phrases


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "hello", "AADSTS", "AADSTS1234"])
def test_nothing_to_find(text: str) -> None:
    parsed = parse_error_text(text)
    assert parsed == ParsedError()
    assert parsed.empty


def test_not_a_string_is_empty() -> None:
    assert parse_error_text(None) == ParsedError()  # type: ignore[arg-type]
    assert parse_error_text(b"AADSTS90094") == ParsedError()  # type: ignore[arg-type]


def test_one_megabyte_is_capped() -> None:
    head = fixture("troubleshooting_90094.txt")
    blob = head + ("x" * 1024 + "\n") * 1024 + "AADSTS50105 at the far end"
    parsed = parse_error_text(blob)
    assert parsed.truncated
    assert parsed.codes == ("AADSTS90094",)  # the tail beyond the cap is ignored
    assert len(blob) > MAX_INPUT_CHARS


def test_code_boundaries() -> None:
    assert parse_error_text("xAADSTS90094").codes == ()
    assert parse_error_text("AADSTS123456789").codes == ()
    assert parse_error_text("(AADSTS90094)").codes == ("AADSTS90094",)
    assert parse_error_text("aadsts90094: lower case").codes == ("AADSTS90094",)
    # Unicode digits are not codes.
    assert parse_error_text("AADSTS\u0669\u0660\u0660\u0669\u0664").codes == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-27T09:12:44Z", datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)),
        ("2026-11-27 09:12:44Z", datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)),
        ("2026-11-27 09:12:44", datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)),
        ("2026-11-27T09:12:44.5Z", datetime(2026, 11, 27, 9, 12, 44, 500000, tzinfo=UTC)),
        (
            "2026-11-27T09:12:44-0530",
            datetime(2026, 11, 27, 9, 12, 44, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("2026-13-27T09:12:44Z", None),
        ("2026-11-27T25:12:44Z", None),
        ("2026-11-27T09:12:44+99:00", None),
        ("yesterday", None),
    ],
)
def test_parse_timestamp(raw: str, expected: datetime | None) -> None:
    assert parse_timestamp(raw) == expected


def test_impossible_timestamp_keeps_the_text() -> None:
    parsed = parse_error_text("Timestamp: 2026-02-30T09:12:44Z")
    assert parsed.timestamp is None
    assert parsed.timestamp_text == "2026-02-30T09:12:44Z"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3_000))
def test_never_raises_on_any_text(text: str) -> None:
    parsed = parse_error_text(text)
    assert isinstance(parsed, ParsedError)
    assert all(code.startswith("AADSTS") for code in parsed.codes)
    assert parsed.timestamp is None or parsed.timestamp.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=2_000),
    after=st.text(max_size=2_000),
    number=st.integers(min_value=10_000, max_value=9_999_999),
)
def test_embedded_code_is_found(before: str, after: str, number: int) -> None:
    parsed = parse_error_text(f"{before}\nAADSTS{number} {after}")
    assert f"AADSTS{number}" in parsed.codes
    assert parsed.primary_code is not None


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2_000))
def test_never_raises_on_decoded_bytes(data: bytes) -> None:
    parse_error_text(data.decode("latin-1"))
