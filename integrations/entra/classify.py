"""Turn the signals calbot has about a failed connection into one failure class.

Signals, strongest first: an AADSTS code (pasted text or ``error_description``), page
phrases, the person's button answer, the OAuth ``error`` value, and "clicked but never
came back". Within codes and within phrases the earliest row of the decision table in
``reference/entra.md`` §5 wins. Codes come before phrases because Microsoft localises its
pages but not its codes. Never raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from integrations.entra.catalogue import (
    CAUSES,
    CLASSES,
    OTHER_CRONOFY_APPS,
    PHRASES_BY_KEY,
    Actor,
    Cause,
    FailureClass,
    Remedy,
    lookup_code,
)
from integrations.entra.parse import ParsedError, parse_error_text

logger = logging.getLogger(__name__)


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ButtonChoice(StrEnum):
    """The answers to calbot's "What did Microsoft show?" question."""

    NEED_ADMIN_APPROVAL = "need_admin_approval"
    APPROVAL_REQUIRED = "approval_required"
    ADMIN_CONSENT_REQUIRED = "admin_consent_required"
    APP_BLOCKED = "app_blocked"
    CANCELLED = "cancelled"
    SOMETHING_ELSE = "something_else"


_BUTTON_ALIASES = {
    "canceled": ButtonChoice.CANCELLED,
    "i_cancelled": ButtonChoice.CANCELLED,
    "i_canceled": ButtonChoice.CANCELLED,
    "this_app_is_blocked": ButtonChoice.APP_BLOCKED,
    "other": ButtonChoice.SOMETHING_ELSE,
}

_BUTTON_CAUSES: dict[ButtonChoice, Cause | None] = {
    ButtonChoice.NEED_ADMIN_APPROVAL: Cause.CONSENT_POLICY,
    ButtonChoice.APPROVAL_REQUIRED: Cause.CONSENT_REQUEST_PENDING,
    ButtonChoice.ADMIN_CONSENT_REQUIRED: Cause.ADMIN_ONLY_PERMISSION,
    ButtonChoice.APP_BLOCKED: Cause.APP_DISABLED,
    ButtonChoice.CANCELLED: Cause.USER_CANCELLED,
    ButtonChoice.SOMETHING_ELSE: None,
}

#: Answers saying "Microsoft wanted an admin" (they overrule a bare 65004 / access_denied).
_ADMIN_BUTTONS = {
    ButtonChoice.NEED_ADMIN_APPROVAL,
    ButtonChoice.APPROVAL_REQUIRED,
    ButtonChoice.ADMIN_CONSENT_REQUIRED,
}

_OAUTH_ERRORS: dict[str, tuple[Cause, str]] = {
    "access_denied": (
        Cause.ACCESS_DENIED,
        "error=access_denied with no code is ambiguous: the person either declined the "
        "consent screen or was stopped by 'Need admin approval'",
    ),
    "invalid_grant": (
        Cause.CONSENT_REVOKED,
        "invalid_grant on a working connection may mean consent was withdrawn or the "
        "policy changed (low confidence: an expired session or password reset looks the same)",
    ),
    "consent_required": (Cause.CONSENT_MISSING, "error=consent_required: no consent exists"),
    "temporarily_unavailable": (Cause.TRANSIENT, "error=temporarily_unavailable"),
    "server_error": (Cause.TRANSIENT, "error=server_error"),
    "unauthorized_client": (
        Cause.VENDOR_CONFIG,
        "error=unauthorized_client: the app is unknown or disabled in the tenant",
    ),
    "invalid_request": (Cause.VENDOR_CONFIG, "error=invalid_request"),
    "invalid_client": (Cause.VENDOR_CONFIG, "error=invalid_client"),
    "invalid_resource": (Cause.VENDOR_CONFIG, "error=invalid_resource"),
    "invalid_scope": (Cause.VENDOR_CONFIG, "error=invalid_scope"),
    "unsupported_response_type": (Cause.VENDOR_CONFIG, "error=unsupported_response_type"),
}

_OAUTH_ALTERNATIVES: dict[str, tuple[FailureClass, ...]] = {
    "access_denied": (FailureClass.USER_DECLINED, FailureClass.USER_CONSENT_BLOCKED),
    "invalid_grant": (FailureClass.UNKNOWN,),
    "unauthorized_client": (FailureClass.APP_BLOCKED,),
    "interaction_required": (FailureClass.CONDITIONAL_ACCESS, FailureClass.USER_CONSENT_BLOCKED),
}


@dataclass(frozen=True)
class Classification:
    failure_class: FailureClass
    confidence: Confidence
    #: Plain sentences saying which signals led here (for the alert and the logs).
    evidence: tuple[str, ...]
    cause: Cause
    #: The AADSTS code the decision rests on, if any.
    code: str | None = None
    #: Other classes that fit the same signals (an ambiguous ``access_denied`` …).
    alternatives: tuple[FailureClass, ...] = ()

    @property
    def actor(self) -> Actor:
        return CAUSES[self.cause].actor

    @property
    def remedy(self) -> Remedy:
        return CAUSES[self.cause].remedy

    @property
    def consent_problem(self) -> bool:
        return CLASSES[self.failure_class].consent_problem

    @property
    def ambiguous(self) -> bool:
        return bool(self.alternatives)

    @property
    def title(self) -> str:
        return CLASSES[self.failure_class].title


def normalise_button(choice: str | None) -> ButtonChoice | None:
    """``"Need admin approval"``, ``"need-admin-approval"`` → the enum; unknown → ``None``."""
    if not isinstance(choice, str):
        return None
    key = "_".join(choice.strip().lower().replace("-", " ").replace("'", "").split())
    if key in _BUTTON_ALIASES:
        return _BUTTON_ALIASES[key]
    try:
        return ButtonChoice(key)
    except ValueError:
        return None


def classify(
    parsed: ParsedError | str | None = None,
    *,
    oauth_error: str | None = None,
    error_description: str | None = None,
    button_choice: str | None = None,
    stalled: bool = False,
) -> Classification:
    """Classify a failed connection from whatever is known. Never raises.

    ``parsed`` is pasted text (raw or already parsed); ``oauth_error`` and
    ``error_description`` come from the OAuth callback; ``button_choice`` is the person's
    answer; ``stalled`` means the link was clicked but no callback ever came.
    """
    try:
        return _classify(parsed, oauth_error, error_description, button_choice, stalled)
    except Exception:  # pragma: no cover - defensive
        logger.exception("entra.classify_failed")
        return _result(Cause.UNRECOGNISED, Confidence.LOW, ["classification failed"])


# --------------------------------------------------------------------------- internals


def _result(
    cause: Cause,
    confidence: Confidence,
    evidence: list[str],
    code: str | None = None,
    alternatives: tuple[FailureClass, ...] = (),
) -> Classification:
    return Classification(
        failure_class=CAUSES[cause].failure_class,
        confidence=confidence,
        evidence=tuple(evidence),
        cause=cause,
        code=code,
        alternatives=alternatives,
    )


def _merge(parsed: ParsedError | str | None, description: str | None) -> ParsedError:
    if isinstance(parsed, str):
        parsed = parse_error_text(parsed)
    elif not isinstance(parsed, ParsedError):
        parsed = ParsedError()
    if not isinstance(description, str) or not description.strip():
        return parsed
    extra = parse_error_text(description)
    codes = tuple(dict.fromkeys(parsed.codes + extra.codes))
    phrases = tuple(dict.fromkeys(parsed.phrases + extra.phrases))
    primary = parsed.primary_code
    if extra.primary_code and (primary is None or _rank(extra.primary_code) < _rank(primary)):
        primary = extra.primary_code
    return ParsedError(
        codes=codes,
        primary_code=primary,
        request_id=parsed.request_id or extra.request_id,
        correlation_id=parsed.correlation_id or extra.correlation_id,
        trace_id=parsed.trace_id or extra.trace_id,
        timestamp=parsed.timestamp or extra.timestamp,
        timestamp_text=parsed.timestamp_text or extra.timestamp_text,
        app_name=parsed.app_name or extra.app_name,
        app_id=parsed.app_id or extra.app_id,
        cronofy_app_ids=tuple(dict.fromkeys(parsed.cronofy_app_ids + extra.cronofy_app_ids)),
        message=parsed.message or extra.message,
        phrases=phrases,
        oauth_error=parsed.oauth_error or extra.oauth_error,
        truncated=parsed.truncated or extra.truncated,
    )


def _rank(code: str) -> int:
    info = lookup_code(code)
    return info.rank if info else 1_000


def _phrase_label(key: str) -> str:
    return key.replace("_", " ")


def _classify(
    parsed_in: ParsedError | str | None,
    oauth_error: str | None,
    description: str | None,
    button_choice: str | None,
    stalled: bool,
) -> Classification:
    parsed = _merge(parsed_in, description)
    error = (oauth_error if isinstance(oauth_error, str) else None) or parsed.oauth_error
    error = error.strip().lower() if error else None
    button = normalise_button(button_choice)
    button_cause = _BUTTON_CAUSES.get(button) if button else None
    evidence: list[str] = []
    if isinstance(button_choice, str) and button_choice.strip() and button is None:
        evidence.append(f"unrecognised answer {button_choice.strip()[:40]!r} ignored")

    # Row 1: another Cronofy application is named.
    wrong = parsed.wrong_cronofy_app
    if wrong:
        evidence.append(
            f"the error names {OTHER_CRONOFY_APPS.get(wrong, 'another app')} ({wrong}), "
            "not Cronofy for Office 365"
        )
        return _result(Cause.WRONG_CRONOFY_APP, Confidence.HIGH, evidence, parsed.primary_code)

    known = [c for c in parsed.codes if lookup_code(c)]
    unknown = [c for c in parsed.codes if not lookup_code(c)]
    phrase_causes = sorted(
        (PHRASES_BY_KEY[k].cause for k in parsed.phrases if k in PHRASES_BY_KEY),
        key=lambda cause: CAUSES[cause].rank,
    )

    if known:
        return _from_code(parsed, known, phrase_causes, button, button_cause, error, evidence)

    if unknown:
        evidence.append(f"{', '.join(unknown)} not in calbot's catalogue")

    if phrase_causes:
        cause = phrase_causes[0]
        keys = [k for k in parsed.phrases if PHRASES_BY_KEY[k].cause is cause]
        evidence.append(f"Microsoft's page says: {', '.join(map(_phrase_label, keys))}")
        confidence = Confidence.MEDIUM
        if button_cause is not None:
            if CAUSES[button_cause].failure_class is CAUSES[cause].failure_class:
                confidence = Confidence.HIGH
                evidence.append(f"the person's answer agrees ({button})")
            else:
                evidence.append(f"the person answered {button}; going by the page text")
        if error:
            evidence.append(f"the callback said error={error}")
        return _result(cause, confidence, evidence, parsed.primary_code)

    if button_cause is not None:
        confidence = Confidence.HIGH if button is ButtonChoice.CANCELLED else Confidence.MEDIUM
        evidence.append(f"the person says Microsoft showed: {_phrase_label(str(button))}")
        if error:
            evidence.append(f"the callback said error={error}")
        return _result(button_cause, confidence, evidence, parsed.primary_code)

    if button is ButtonChoice.SOMETHING_ELSE:
        evidence.append("the person saw something other than the listed screens")
        if error:
            evidence.append(f"the callback said error={error}")
        return _result(Cause.UNRECOGNISED, Confidence.LOW, evidence, parsed.primary_code)

    if unknown:
        if error:
            evidence.append(f"the callback said error={error}")
        return _result(Cause.UNRECOGNISED, Confidence.LOW, evidence, parsed.primary_code)

    if error:
        cause, note = _OAUTH_ERRORS.get(
            error, (Cause.UNRECOGNISED, f"error={error[:40]} without further detail")
        )
        evidence.append(note)
        confidence = Confidence.MEDIUM if cause is Cause.TRANSIENT else Confidence.LOW
        return _result(cause, confidence, evidence, None, _OAUTH_ALTERNATIVES.get(error, ()))

    if stalled:
        evidence.append(
            "the person opened the connect link but never came back; people stopped by "
            "'Need admin approval' usually look like this"
        )
        return _result(
            Cause.NO_CALLBACK,
            Confidence.LOW,
            evidence,
            None,
            (FailureClass.USER_CONSENT_BLOCKED, FailureClass.USER_CANCELLED),
        )

    evidence.append("no code, known phrase, answer or error to go on")
    return _result(Cause.UNRECOGNISED, Confidence.LOW, evidence)


def _from_code(
    parsed: ParsedError,
    known: list[str],
    phrase_causes: list[Cause],
    button: ButtonChoice | None,
    button_cause: Cause | None,
    error: str | None,
    evidence: list[str],
) -> Classification:
    code = min(known, key=lambda c: (_rank(c), known.index(c)))
    info = lookup_code(code)
    assert info is not None
    cause = info.cause
    confidence = Confidence.HIGH
    label = f"{code} ({info.name})" if info.name else code
    evidence.append(f"{label}: {info.meaning}")
    if len(parsed.codes) > 1:
        others = [c for c in parsed.codes if c != code]
        evidence.append(f"also seen: {', '.join(others)}; {code} is the most specific")

    admin_phrase = next(
        (c for c in phrase_causes if c in (Cause.CONSENT_POLICY, Cause.CONSENT_REQUEST_PENDING)),
        None,
    )
    if cause is Cause.ADMIN_ONLY_PERMISSION:
        # Microsoft's own pages disagree on 90093: let the text decide.
        if admin_phrase is not None:
            cause = admin_phrase
            evidence.append("the text describes a tenant consent policy")
        else:
            confidence = Confidence.MEDIUM
    elif cause in (Cause.USER_DECLINED, Cause.CONSENT_MISSING):
        admin_cause = next(
            (
                c
                for c in phrase_causes
                if CAUSES[c].rank <= CAUSES[Cause.ADMIN_ONLY_PERMISSION].rank
            ),
            None,
        )
        if admin_cause is not None:
            cause = admin_cause
            confidence = Confidence.MEDIUM
            evidence.append("but the text says an administrator must approve")
        elif button in _ADMIN_BUTTONS and button_cause is not None:
            cause = button_cause
            confidence = Confidence.MEDIUM
            evidence.append(f"but the person says Microsoft showed: {_phrase_label(str(button))}")
        elif cause is Cause.CONSENT_MISSING:
            confidence = Confidence.MEDIUM

    if button_cause is not None and cause is info.cause:
        if CAUSES[button_cause].failure_class is CAUSES[cause].failure_class:
            evidence.append(f"the person's answer agrees ({button})")
        else:
            evidence.append(f"the person answered {button}; going by the error code")
    if error:
        evidence.append(f"the callback said error={error}")
    return _result(cause, confidence, evidence, code)
