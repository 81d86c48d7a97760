from __future__ import annotations

import pytest

from integrations.entra import (
    CAUSES,
    CLASSES,
    CODES,
    PHRASES,
    Actor,
    Cause,
    FailureClass,
    lookup_code,
    normalise_code,
)


def test_every_class_and_cause_is_described() -> None:
    assert set(CLASSES) == set(FailureClass)
    assert set(CAUSES) == set(Cause)
    for info in CLASSES.values():
        assert info.title and info.diagnosis
        assert CAUSES[info.default_cause].failure_class is info.failure_class
    for cause in CAUSES.values():
        assert cause.explanation


def test_enum_values() -> None:
    assert [c.value for c in FailureClass] == [
        "user_consent_blocked",
        "admin_consent_required",
        "app_blocked",
        "user_not_assigned",
        "conditional_access",
        "user_declined",
        "user_cancelled",
        "guest_account",
        "unknown",
    ]
    assert [a.value for a in Actor] == ["user", "tenant_admin", "nobody"]


def test_ranks_are_unique_so_the_decision_is_deterministic() -> None:
    ranks = [c.rank for c in CAUSES.values()]
    assert len(ranks) == len(set(ranks))


@pytest.mark.parametrize(
    ("code", "failure_class"),
    [
        (90094, FailureClass.USER_CONSENT_BLOCKED),
        (90095, FailureClass.USER_CONSENT_BLOCKED),
        (65001, FailureClass.USER_CONSENT_BLOCKED),
        (90093, FailureClass.ADMIN_CONSENT_REQUIRED),
        (7000112, FailureClass.APP_BLOCKED),
        (50105, FailureClass.USER_NOT_ASSIGNED),
        (53003, FailureClass.CONDITIONAL_ACCESS),
        (50076, FailureClass.CONDITIONAL_ACCESS),
        (50079, FailureClass.CONDITIONAL_ACCESS),
        (50158, FailureClass.CONDITIONAL_ACCESS),
        (65004, FailureClass.USER_DECLINED),
        (50020, FailureClass.GUEST_ACCOUNT),
        (90072, FailureClass.GUEST_ACCOUNT),
        (700016, FailureClass.UNKNOWN),
        (65005, FailureClass.UNKNOWN),
        (650052, FailureClass.UNKNOWN),
    ],
)
def test_issue_codes_are_catalogued(code: int, failure_class: FailureClass) -> None:
    info = lookup_code(code)
    assert info is not None
    assert info.failure_class is failure_class
    assert info.lookup_url == f"https://login.microsoftonline.com/error?code={code}"


def test_code_normalisation() -> None:
    assert normalise_code(90094) == "AADSTS90094"
    assert normalise_code(" aadsts90094 ") == "AADSTS90094"
    assert normalise_code("AADSTS") is None
    assert normalise_code("12") is None
    assert normalise_code("\u0669\u0660\u0660\u0669\u0664") is None
    assert lookup_code("nonsense") is None


def test_codes_and_phrases_are_well_formed() -> None:
    for code, info in CODES.items():
        assert code == info.code and normalise_code(code) == code
    assert len({p.key for p in PHRASES}) == len(PHRASES)
