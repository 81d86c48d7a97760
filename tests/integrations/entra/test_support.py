from __future__ import annotations

from datetime import UTC, datetime

from integrations.entra import (
    CRONOFY_APP_ID,
    Attempt,
    FailureClass,
    format_time,
    support_checklist,
)


def test_checklist_is_pre_filled() -> None:
    text = support_checklist(
        tenant_domain="contoso.com",
        tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
        attempts=[
            Attempt(
                "bob@contoso.com",
                datetime(2026, 11, 27, 10, 0, 5, tzinfo=UTC),
                "AADSTS90094",
                "1f2e3d4c-5b6a-4789-8a0b-c1d2e3f4a5b6",
            ),
            Attempt(
                "alice@contoso.com",
                datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC),
                "AADSTS90094",
                "9e3b7d21-4c5a-4f6e-8b1d-2a7c9e0f3b54",
                "5a1f0c2e-7b3d-4e8a-9c61-0d2f4b6a8e10",
            ),
        ],
        anyone_connected=False,
        timezone="Europe/Berlin",
        failure_class=FailureClass.USER_CONSENT_BLOCKED,
    )
    assert "contoso.com (tenant ID 72f988bf-86f1-41af-91ab-2d7cd011db47)" in text
    assert CRONOFY_APP_ID in text
    assert "2026-11-27 09:12:44 UTC (2026-11-27 10:12:44 CET, Europe/Berlin)" in text
    # earliest attempt first
    assert text.index("alice@contoso.com |") < text.index("bob@contoso.com |")
    assert "alice@contoso.com, bob@contoso.com" in text
    assert "Error code(s): AADSTS90094\n" in text  # de-duplicated
    assert "9e3b7d21-4c5a-4f6e-8b1d-2a7c9e0f3b54, 1f2e3d4c-5b6a-4789-8a0b-c1d2e3f4a5b6" in text
    assert "Request ID(s): 5a1f0c2e-7b3d-4e8a-9c61-0d2f4b6a8e10" in text
    assert "connected successfully? No" in text
    assert "Screenshot" in text and "blacked out" in text
    assert "NEW failed sign-in record" in text
    assert "calbot's diagnosis:" in text


def test_checklist_with_nothing_known() -> None:
    text = support_checklist(tenant_domain=None)
    assert text.count("(not known yet, please add)") >= 5
    assert "connected successfully? (not known yet, please add)" in text


def test_naive_times_are_utc_and_bad_zones_are_ignored() -> None:
    naive = datetime(2026, 11, 27, 9, 12, 44)
    assert format_time(naive) == "2026-11-27 09:12:44 UTC"
    assert format_time(naive, "Not/AZone") == "2026-11-27 09:12:44 UTC"
    text = support_checklist(
        tenant_domain="contoso.com",
        attempts=[Attempt("a@contoso.com", naive), Attempt("b@contoso.com", None)],
        anyone_connected=True,
    )
    assert "connected successfully? Yes" in text
    assert "time unknown | b@contoso.com" in text
