from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.entra import (
    Actor,
    ButtonChoice,
    Cause,
    Classification,
    Confidence,
    FailureClass,
    Remedy,
    classify,
    normalise_button,
    parse_error_text,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "entra"

F = FailureClass
C = Cause
HIGH, MEDIUM, LOW = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- codes

CODE_ROWS = [
    (
        "AADSTS90094: The grant requires admin permission.",
        F.USER_CONSENT_BLOCKED,
        C.CONSENT_POLICY,
        HIGH,
    ),
    (
        "AADSTS90095: Admin consent is required",
        F.USER_CONSENT_BLOCKED,
        C.CONSENT_REQUEST_PENDING,
        HIGH,
    ),
    ("AADSTS65001: has not consented", F.USER_CONSENT_BLOCKED, C.CONSENT_MISSING, MEDIUM),
    (
        "AADSTS90093: you aren't authorized to grant",
        F.ADMIN_CONSENT_REQUIRED,
        C.ADMIN_ONLY_PERMISSION,
        MEDIUM,
    ),
    (
        "AADSTS90093: An administrator of Contoso has set a policy that prevents you from "
        "granting Cronofy for Office 365 the permissions it is requesting.",
        F.USER_CONSENT_BLOCKED,
        C.CONSENT_POLICY,
        HIGH,
    ),
    ("AADSTS900941", F.ADMIN_CONSENT_REQUIRED, C.RISKY_APP, HIGH),
    ("AADSTS900981", F.ADMIN_CONSENT_REQUIRED, C.RISKY_APP, HIGH),
    (
        "AADSTS650056: Misconfigured application",
        F.ADMIN_CONSENT_REQUIRED,
        C.MISCONFIGURED_APP,
        HIGH,
    ),
    ("AADSTS7000112", F.APP_BLOCKED, C.APP_DISABLED, HIGH),
    ("AADSTS70001", F.APP_BLOCKED, C.APP_DISABLED, HIGH),
    ("AADSTS50105", F.USER_NOT_ASSIGNED, C.NOT_ASSIGNED, HIGH),
    ("AADSTS53003", F.CONDITIONAL_ACCESS, C.CONDITIONAL_ACCESS_POLICY, HIGH),
    ("AADSTS530032", F.CONDITIONAL_ACCESS, C.CONDITIONAL_ACCESS_POLICY, HIGH),
    ("AADSTS53000", F.CONDITIONAL_ACCESS, C.CONDITIONAL_ACCESS_POLICY, HIGH),
    ("AADSTS50076", F.CONDITIONAL_ACCESS, C.MFA_INCOMPLETE, HIGH),
    ("AADSTS50079", F.CONDITIONAL_ACCESS, C.MFA_INCOMPLETE, HIGH),
    ("AADSTS50158", F.CONDITIONAL_ACCESS, C.MFA_INCOMPLETE, HIGH),
    ("AADSTS65004", F.USER_DECLINED, C.USER_DECLINED, HIGH),
    ("AADSTS50020", F.GUEST_ACCOUNT, C.EXTERNAL_ACCOUNT, HIGH),
    ("AADSTS90072", F.GUEST_ACCOUNT, C.EXTERNAL_ACCOUNT, HIGH),
    ("AADSTS50034", F.GUEST_ACCOUNT, C.WRONG_ACCOUNT, HIGH),
    ("AADSTS700016", F.UNKNOWN, C.VENDOR_CONFIG, HIGH),
    ("AADSTS650052", F.UNKNOWN, C.TENANT_SERVICE_MISSING, HIGH),
    ("AADSTS65005", F.UNKNOWN, C.TENANT_SERVICE_MISSING, HIGH),
    ("AADSTS90090", F.UNKNOWN, C.TRANSIENT, HIGH),
    ("AADSTS50126", F.UNKNOWN, C.ACCOUNT_PROBLEM, HIGH),
    ("AADSTS12345: something new", F.UNKNOWN, C.UNRECOGNISED, LOW),
]


@pytest.mark.parametrize(("text", "failure_class", "cause", "confidence"), CODE_ROWS)
def test_codes(text: str, failure_class: F, cause: C, confidence: Confidence) -> None:
    result = classify(text)
    assert (result.failure_class, result.cause, result.confidence) == (
        failure_class,
        cause,
        confidence,
    )
    assert result.evidence


def test_parsed_and_raw_text_agree() -> None:
    text = fixture("troubleshooting_90094.txt")
    assert classify(text) == classify(parse_error_text(text))


# --------------------------------------------------------------------------- real-shaped pages

FIXTURE_ROWS = [
    ("need_admin_approval.txt", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, MEDIUM, None),
    ("approval_required.txt", F.USER_CONSENT_BLOCKED, C.CONSENT_REQUEST_PENDING, MEDIUM, None),
    ("troubleshooting_90094.txt", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, HIGH, "AADSTS90094"),
    ("app_blocked.txt", F.APP_BLOCKED, C.APP_DISABLED, MEDIUM, None),
    ("app_disabled_7000112.txt", F.APP_BLOCKED, C.APP_DISABLED, HIGH, "AADSTS7000112"),
    ("not_assigned_50105.txt", F.USER_NOT_ASSIGNED, C.NOT_ASSIGNED, HIGH, "AADSTS50105"),
    (
        "conditional_access_53003.txt",
        F.CONDITIONAL_ACCESS,
        C.CONDITIONAL_ACCESS_POLICY,
        HIGH,
        "AADSTS53003",
    ),
    ("two_codes.txt", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, HIGH, "AADSTS90094"),
    ("german_need_admin_approval.txt", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, MEDIUM, None),
    ("french_need_admin_approval.txt", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, MEDIUM, None),
    ("redirect_declined_65004.txt", F.USER_DECLINED, C.USER_DECLINED, HIGH, "AADSTS65004"),
    ("guest_50020.txt", F.GUEST_ACCOUNT, C.EXTERNAL_ACCOUNT, HIGH, "AADSTS50020"),
    ("wrong_cronofy_app.txt", F.UNKNOWN, C.WRONG_CRONOFY_APP, HIGH, "AADSTS90094"),
    ("risky_900941.txt", F.ADMIN_CONSENT_REQUIRED, C.RISKY_APP, HIGH, "AADSTS900941"),
    ("token_error.json", F.USER_CONSENT_BLOCKED, C.CONSENT_MISSING, MEDIUM, "AADSTS65001"),
]


@pytest.mark.parametrize(("name", "failure_class", "cause", "confidence", "code"), FIXTURE_ROWS)
def test_fixtures(
    name: str, failure_class: F, cause: C, confidence: Confidence, code: str | None
) -> None:
    result = classify(fixture(name))
    assert result.failure_class is failure_class
    assert result.cause is cause
    assert result.confidence is confidence
    assert result.code == code


def test_two_codes_evidence_names_both() -> None:
    result = classify(fixture("two_codes.txt"))
    assert any("AADSTS65001" in line and "most specific" in line for line in result.evidence)


# --------------------------------------------------------------------------- OAuth callback

OAUTH_ROWS: list[tuple[dict[str, object], F, C, Confidence]] = [
    ({"oauth_error": "access_denied"}, F.UNKNOWN, C.ACCESS_DENIED, LOW),
    (
        {
            "oauth_error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.\r\n"
            "Trace ID: 2b4d6f8a-0c1e-4a3b-9d5f-7a9c1e3b5d7f",
        },
        F.USER_DECLINED,
        C.USER_DECLINED,
        HIGH,
    ),
    (
        {
            "oauth_error": "access_denied",
            "error_description": "AADSTS90094: The grant requires admin permission.",
        },
        F.USER_CONSENT_BLOCKED,
        C.CONSENT_POLICY,
        HIGH,
    ),
    (
        {"oauth_error": "access_denied", "error_description": "The user denied the request"},
        F.USER_DECLINED,
        C.USER_DECLINED,
        MEDIUM,
    ),
    (
        {"oauth_error": "access_denied", "button_choice": "need_admin_approval"},
        F.USER_CONSENT_BLOCKED,
        C.CONSENT_POLICY,
        MEDIUM,
    ),
    (
        {"oauth_error": "access_denied", "button_choice": "cancelled"},
        F.USER_CANCELLED,
        C.USER_CANCELLED,
        HIGH,
    ),
    (
        {
            "oauth_error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            "button_choice": "need_admin_approval",
        },
        F.USER_CONSENT_BLOCKED,
        C.CONSENT_POLICY,
        MEDIUM,
    ),
    ({"oauth_error": "invalid_grant"}, F.USER_CONSENT_BLOCKED, C.CONSENT_REVOKED, LOW),
    ({"oauth_error": "temporarily_unavailable"}, F.UNKNOWN, C.TRANSIENT, MEDIUM),
    ({"oauth_error": "server_error"}, F.UNKNOWN, C.TRANSIENT, MEDIUM),
    ({"oauth_error": "invalid_request"}, F.UNKNOWN, C.VENDOR_CONFIG, LOW),
    ({"oauth_error": "made_up_error"}, F.UNKNOWN, C.UNRECOGNISED, LOW),
    ({"oauth_error": "ACCESS_DENIED "}, F.UNKNOWN, C.ACCESS_DENIED, LOW),
]


@pytest.mark.parametrize(("kwargs", "failure_class", "cause", "confidence"), OAUTH_ROWS)
def test_oauth_signals(
    kwargs: dict[str, object], failure_class: F, cause: C, confidence: Confidence
) -> None:
    result = classify(None, **kwargs)  # type: ignore[arg-type]
    assert (result.failure_class, result.cause, result.confidence) == (
        failure_class,
        cause,
        confidence,
    )


def test_access_denied_alone_says_it_is_ambiguous() -> None:
    result = classify(oauth_error="access_denied")
    assert result.ambiguous
    assert set(result.alternatives) == {F.USER_DECLINED, F.USER_CONSENT_BLOCKED}
    assert any("ambiguous" in line for line in result.evidence)
    assert result.actor is Actor.USER  # ask the person which screen they saw
    assert result.remedy is Remedy.ASK_USER


def test_invalid_grant_is_low_confidence_revocation() -> None:
    result = classify(oauth_error="invalid_grant")
    assert result.confidence is LOW
    assert result.consent_problem
    assert any("invalid_grant" in line for line in result.evidence)


# --------------------------------------------------------------------------- buttons

BUTTON_ROWS = [
    ("need_admin_approval", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, MEDIUM),
    ("Need admin approval", F.USER_CONSENT_BLOCKED, C.CONSENT_POLICY, MEDIUM),
    ("approval_required", F.USER_CONSENT_BLOCKED, C.CONSENT_REQUEST_PENDING, MEDIUM),
    ("admin_consent_required", F.ADMIN_CONSENT_REQUIRED, C.ADMIN_ONLY_PERMISSION, MEDIUM),
    ("admin-consent-required", F.ADMIN_CONSENT_REQUIRED, C.ADMIN_ONLY_PERMISSION, MEDIUM),
    ("app_blocked", F.APP_BLOCKED, C.APP_DISABLED, MEDIUM),
    ("This app is blocked", F.APP_BLOCKED, C.APP_DISABLED, MEDIUM),
    ("cancelled", F.USER_CANCELLED, C.USER_CANCELLED, HIGH),
    ("canceled", F.USER_CANCELLED, C.USER_CANCELLED, HIGH),
    ("I cancelled", F.USER_CANCELLED, C.USER_CANCELLED, HIGH),
    ("something_else", F.UNKNOWN, C.UNRECOGNISED, LOW),
    ("no such button", F.UNKNOWN, C.UNRECOGNISED, LOW),
]


@pytest.mark.parametrize(("button", "failure_class", "cause", "confidence"), BUTTON_ROWS)
def test_buttons(button: str, failure_class: F, cause: C, confidence: Confidence) -> None:
    result = classify(button_choice=button)
    assert (result.failure_class, result.cause, result.confidence) == (
        failure_class,
        cause,
        confidence,
    )


def test_normalise_button() -> None:
    assert normalise_button(" Need-Admin Approval ") is ButtonChoice.NEED_ADMIN_APPROVAL
    assert normalise_button("other") is ButtonChoice.SOMETHING_ELSE
    assert normalise_button("") is None
    assert normalise_button(None) is None


def test_code_beats_a_conflicting_button() -> None:
    result = classify("AADSTS50105", button_choice="cancelled")
    assert result.failure_class is F.USER_NOT_ASSIGNED
    assert any("going by the error code" in line for line in result.evidence)


def test_button_agreeing_with_page_text_raises_confidence() -> None:
    result = classify(fixture("need_admin_approval.txt"), button_choice="need_admin_approval")
    assert result.failure_class is F.USER_CONSENT_BLOCKED
    assert result.confidence is HIGH


def test_something_else_with_access_denied_stays_unknown() -> None:
    result = classify(oauth_error="access_denied", button_choice="something_else")
    assert result.failure_class is F.UNKNOWN


def test_unknown_code_does_not_hide_the_button() -> None:
    result = classify("AADSTS99999", button_choice="app_blocked")
    assert result.failure_class is F.APP_BLOCKED
    assert any("AADSTS99999" in line for line in result.evidence)


# --------------------------------------------------------------------------- stalled / nothing


def test_stalled_connect() -> None:
    result = classify(stalled=True)
    assert result.cause is C.NO_CALLBACK
    assert result.confidence is LOW
    assert F.USER_CONSENT_BLOCKED in result.alternatives
    assert result.actor is Actor.USER


def test_no_signal_at_all() -> None:
    result = classify()
    assert result == Classification(
        F.UNKNOWN, LOW, ("no code, known phrase, answer or error to go on",), C.UNRECOGNISED
    )
    assert result.actor is Actor.NOBODY


# --------------------------------------------------------------------------- properties


def test_who_acts() -> None:
    assert classify("AADSTS90094").actor is Actor.TENANT_ADMIN
    assert classify("AADSTS65004").actor is Actor.USER
    assert classify("AADSTS50076").actor is Actor.USER  # MFA: the person finishes it
    assert classify("AADSTS53003").actor is Actor.TENANT_ADMIN
    assert classify("AADSTS700016").actor is Actor.NOBODY


def test_consent_problem_flags() -> None:
    assert classify("AADSTS90094").consent_problem
    assert classify("AADSTS50105").consent_problem
    assert not classify("AADSTS53003").consent_problem
    assert not classify("AADSTS50020").consent_problem


# --------------------------------------------------------------------------- fuzzing

optional_text = st.none() | st.text(max_size=500)


@settings(max_examples=300, deadline=None)
@given(
    parsed=optional_text,
    oauth_error=optional_text,
    description=optional_text,
    button=optional_text | st.sampled_from([b.value for b in ButtonChoice]),
    stalled=st.booleans(),
)
def test_classify_never_raises(
    parsed: str | None,
    oauth_error: str | None,
    description: str | None,
    button: str | None,
    stalled: bool,
) -> None:
    result = classify(
        parsed,
        oauth_error=oauth_error,
        error_description=description,
        button_choice=button,
        stalled=stalled,
    )
    assert isinstance(result.failure_class, F)
    assert isinstance(result.confidence, Confidence)
    assert result.evidence
    assert isinstance(result.actor, Actor)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "AADSTS90094",
                "AADSTS65001",
                "AADSTS50105",
                "AADSTS53003",
                "AADSTS65004",
                "AADSTS7000112",
                "AADSTS12345",
            ]
        ),
        min_size=1,
    )
)
def test_primary_code_is_independent_of_order(codes: list[str]) -> None:
    forward = classify(" ".join(codes))
    backward = classify(" ".join(reversed(codes)))
    assert forward.failure_class is backward.failure_class
    assert forward.code == backward.code
