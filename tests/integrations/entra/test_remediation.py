from __future__ import annotations

import pytest

from integrations.entra import (
    CONSENT_OPTIONS,
    CRONOFY_APP_ID,
    CRONOFY_APP_NAME,
    Actor,
    Cause,
    FailureClass,
    Remedy,
    classify,
    fresh_sign_in_record_request,
    remediation_for,
)
from integrations.entra.catalogue import CAUSES

ADMIN_CLASSES = [
    FailureClass.USER_CONSENT_BLOCKED,
    FailureClass.ADMIN_CONSENT_REQUIRED,
    FailureClass.APP_BLOCKED,
    FailureClass.USER_NOT_ASSIGNED,
    FailureClass.CONDITIONAL_ACCESS,
]


@pytest.mark.parametrize("failure_class", list(FailureClass))
def test_every_class_has_numbered_steps(failure_class: FailureClass) -> None:
    fix = remediation_for(failure_class, tenant="contoso.com")
    assert fix.failure_class is failure_class
    assert fix.title and fix.diagnosis and fix.tell_user
    assert [s.number for s in fix.steps] == list(range(1, len(fix.steps) + 1))
    assert len(fix.steps) >= 2
    assert fix.app_id == CRONOFY_APP_ID and fix.app_name == CRONOFY_APP_NAME
    text = fix.as_text()
    assert "1. " in text


@pytest.mark.parametrize("cause", list(Cause))
def test_every_cause_has_steps(cause: Cause) -> None:
    fix = remediation_for(CAUSES[cause].failure_class, cause=cause)
    assert fix.cause is cause
    assert fix.steps


@pytest.mark.parametrize("failure_class", ADMIN_CLASSES[:4])
def test_consent_classes_name_the_app_and_its_id(failure_class: FailureClass) -> None:
    text = remediation_for(failure_class, tenant="contoso.com").as_text()
    assert CRONOFY_APP_NAME in text
    assert CRONOFY_APP_ID in text
    assert "Enterprise applications → All applications" in text


def test_grant_admin_consent_follows_the_guide() -> None:
    fix = remediation_for(
        FailureClass.USER_CONSENT_BLOCKED, tenant="contoso.com", tenant_name="Contoso Ltd"
    )
    assert fix.remedy is Remedy.GRANT_ADMIN_CONSENT
    assert fix.actor is Actor.TENANT_ADMIN
    steps = [s.text for s in fix.steps]
    order = [
        "Microsoft Entra admin center",
        "Enterprise applications → All applications",
        f'"{CRONOFY_APP_NAME}"',
        CRONOFY_APP_ID,
        "Security → Permissions",
        "Grant admin consent for Contoso Ltd",
        "No admin consented permissions found",
        "connect again",
    ]
    positions = [next(i for i, s in enumerate(steps) if needle in s) for needle in order]
    assert positions == sorted(positions)
    assert (
        fix.shortcut
        and "https://login.microsoftonline.com/contoso.com/adminconsent" in fix.shortcut
    )
    assert fix.links[0].url == (
        "https://login.microsoftonline.com/contoso.com/adminconsent?client_id=" + CRONOFY_APP_ID
    )
    assert [o.letter for o in fix.options] == ["A", "B", "C"]
    assert fix.options == CONSENT_OPTIONS


def test_common_mistakes_for_consent() -> None:
    mistakes = " ".join(remediation_for(FailureClass.USER_CONSENT_BLOCKED).mistakes)
    assert "not tenant-wide calendar access" in mistakes
    assert "Cezanne" in mistakes
    assert "each person still connects" in mistakes


def test_step_nine_asks_for_a_new_record() -> None:
    fix = remediation_for(FailureClass.ADMIN_CONSENT_REQUIRED)
    text = " ".join(fix.if_still_failing)
    for field in ("timestamp", "affected user", "error code", "correlation ID", "failure reason"):
        assert field in text
    assert "NEW" in text and "earlier" in text
    request = fresh_sign_in_record_request(fixed_at="2026-11-27 10:00 UTC")
    assert "new failed sign-in record" in request and "after 2026-11-27 10:00 UTC" in request


def test_not_assigned_assigns_the_user() -> None:
    fix = remediation_for(FailureClass.USER_NOT_ASSIGNED, users=["dave@contoso.com"])
    text = fix.as_text()
    assert "Users and groups → Add user/group" in text
    assert "dave@contoso.com" in text
    assert "Assignment required?" in text
    assert any("Assignment required" in m for m in fix.mistakes)


def test_app_blocked_enables_sign_in() -> None:
    text = remediation_for(FailureClass.APP_BLOCKED).as_text()
    assert "Properties" in text
    assert "Enabled for users to sign in?" in text


def test_conditional_access_is_not_a_consent_problem() -> None:
    fix = remediation_for(
        classify("AADSTS53003"), correlation_id="d4c3b2a1-f5e4-4b6a-8d7c-4c3b2a1f0e9d"
    )
    assert not fix.consent_problem
    assert "isn't a consent problem" in fix.diagnosis
    text = fix.as_text()
    assert "Sign-in logs" in text and "Conditional Access" in text
    assert "d4c3b2a1-f5e4-4b6a-8d7c-4c3b2a1f0e9d" in text
    assert not fix.options
    assert "https://login.microsoftonline.com/error?code=53003" in [link.url for link in fix.links]


def test_pending_request_review() -> None:
    fix = remediation_for(classify("AADSTS90095"))
    assert fix.remedy is Remedy.REVIEW_CONSENT_REQUEST
    assert "My Pending" in fix.as_text()


def test_user_side_remedies_have_no_admin_extras() -> None:
    fix = remediation_for(FailureClass.USER_DECLINED)
    assert fix.actor is Actor.USER
    assert not fix.options and not fix.if_still_failing and fix.role is None
    assert "Accept" in fix.as_text()


def test_mismatched_cause_falls_back_to_the_class_default() -> None:
    fix = remediation_for(FailureClass.APP_BLOCKED, cause=Cause.MFA_INCOMPLETE)
    assert fix.cause is Cause.APP_DISABLED


def test_object_id_gives_direct_links() -> None:
    object_id = "11111111-2222-3333-4444-555555555555"
    fix = remediation_for(FailureClass.USER_CONSENT_BLOCKED, sp_object_id=object_id)
    urls = [s.link.url for s in fix.steps if s.link]
    assert any(f"/Permissions/objectId/{object_id}/" in url for url in urls)
