"""What calbot knows about Microsoft Entra sign-in and consent failures.

Everything here is data: the Cronofy application ids, the failure classes calbot groups
incidents by, the finer *causes* (the rows of the decision table in
``reference/entra.md`` §5), the AADSTS codes seen in this flow and the page phrases that
identify a failure when no code is visible.

Microsoft warns that codes and texts change over time, so nothing here is exhaustive: an
unknown code is simply ``FailureClass.UNKNOWN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# --------------------------------------------------------------------------- the app

CRONOFY_APP_NAME = "Cronofy for Office 365"
CRONOFY_APP_ID = "f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd"

#: Other Cronofy applications that admins (or a misconfigured calbot) may confuse with the
#: Individual Connect app above. Seeing one of these in an error means a wrong app is used.
OTHER_CRONOFY_APPS: dict[str, str] = {
    "10bb7e5b-b80b-4e6e-a209-f78581dbc79e": "Cronofy Enterprise Connect",
    "5dedab78-ec49-4da1-9909-f943f131d7f1": "Cronofy Individual Free/Busy",
    "9437e0a7-15ef-46bd-9106-da9b1477234d": "Cronofy Enterprise Free/Busy",
}

#: Delegated permissions the app asks for; none needs admin consent by default.
CRONOFY_PERMISSIONS = ("User.Read", "Calendars.ReadWrite", "offline_access")

#: Microsoft's tenant id for personal (consumer) accounts: no Entra admin to alert there.
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


# --------------------------------------------------------------------------- enums


class FailureClass(StrEnum):
    """What went wrong, at the granularity calbot groups incidents by (tenant + class)."""

    USER_CONSENT_BLOCKED = "user_consent_blocked"
    ADMIN_CONSENT_REQUIRED = "admin_consent_required"
    APP_BLOCKED = "app_blocked"
    USER_NOT_ASSIGNED = "user_not_assigned"
    CONDITIONAL_ACCESS = "conditional_access"
    USER_DECLINED = "user_declined"
    USER_CANCELLED = "user_cancelled"
    GUEST_ACCOUNT = "guest_account"
    UNKNOWN = "unknown"


class Actor(StrEnum):
    """Who has to do something before the person can connect."""

    USER = "user"
    TENANT_ADMIN = "tenant_admin"
    #: Nobody in the customer's organisation: wait and retry, or it is for support.
    NOBODY = "nobody"


class Remedy(StrEnum):
    """Which set of instructions applies (``remediation.py`` holds the steps)."""

    GRANT_ADMIN_CONSENT = "grant_admin_consent"
    REVIEW_CONSENT_REQUEST = "review_consent_request"
    REVIEW_RISKY_CONSENT = "review_risky_consent"
    ASSIGN_USER = "assign_user"
    ENABLE_SIGN_IN = "enable_sign_in"
    REVIEW_CONDITIONAL_ACCESS = "review_conditional_access"
    CHECK_MAILBOX = "check_mailbox"
    COMPLETE_MFA = "complete_mfa"
    RETRY_AND_ACCEPT = "retry_and_accept"
    RECONNECT = "reconnect"
    USE_WORK_ACCOUNT = "use_work_account"
    FIX_SIGN_IN = "fix_sign_in"
    RETRY_LATER = "retry_later"
    ASK_USER = "ask_user"
    ESCALATE = "escalate"
    INVESTIGATE = "investigate"


class Cause(StrEnum):
    """The finer reason behind a failure (the rows of the decision table)."""

    WRONG_CRONOFY_APP = "wrong_cronofy_app"
    APP_DISABLED = "app_disabled"
    NOT_ASSIGNED = "not_assigned"
    CONDITIONAL_ACCESS_POLICY = "conditional_access_policy"
    RISKY_APP = "risky_app"
    CONSENT_REQUEST_PENDING = "consent_request_pending"
    CONSENT_POLICY = "consent_policy"
    ADMIN_ONLY_PERMISSION = "admin_only_permission"
    MISCONFIGURED_APP = "misconfigured_app"
    CONSENT_MISSING = "consent_missing"
    CONSENT_REVOKED = "consent_revoked"
    USER_DECLINED = "user_declined"
    USER_CANCELLED = "user_cancelled"
    EXTERNAL_ACCOUNT = "external_account"
    WRONG_ACCOUNT = "wrong_account"
    ACCOUNT_PROBLEM = "account_problem"
    MFA_INCOMPLETE = "mfa_incomplete"
    TENANT_SERVICE_MISSING = "tenant_service_missing"
    VENDOR_CONFIG = "vendor_config"
    TRANSIENT = "transient"
    ACCESS_DENIED = "access_denied"
    NO_CALLBACK = "no_callback"
    UNRECOGNISED = "unrecognised"


# --------------------------------------------------------------------------- classes


@dataclass(frozen=True)
class ClassInfo:
    failure_class: FailureClass
    title: str
    diagnosis: str
    actor: Actor
    consent_problem: bool
    remedy: Remedy
    #: The cause assumed when only the class is known (e.g. from a button answer).
    default_cause: Cause


CLASSES: dict[FailureClass, ClassInfo] = {
    info.failure_class: info
    for info in (
        ClassInfo(
            FailureClass.USER_CONSENT_BLOCKED,
            "Your Microsoft tenant doesn't let people approve Cronofy themselves",
            "The organisation's Entra settings stop ordinary users from giving consent to "
            "third-party apps, so Microsoft asks for an administrator instead. Cronofy only "
            "asks for each person's own calendar; this is a consent policy, not a request "
            "for tenant-wide calendar access.",
            Actor.TENANT_ADMIN,
            True,
            Remedy.GRANT_ADMIN_CONSENT,
            Cause.CONSENT_POLICY,
        ),
        ClassInfo(
            FailureClass.ADMIN_CONSENT_REQUIRED,
            "Cronofy's permissions need an administrator's consent",
            "Microsoft will only accept consent for the permissions Cronofy requests from an "
            "administrator of the organisation. Once an admin approves the app for the "
            "tenant, each person can finish connecting their own calendar.",
            Actor.TENANT_ADMIN,
            True,
            Remedy.GRANT_ADMIN_CONSENT,
            Cause.ADMIN_ONLY_PERMISSION,
        ),
        ClassInfo(
            FailureClass.APP_BLOCKED,
            "Cronofy is blocked in your Microsoft tenant",
            "The Cronofy enterprise application is switched off for sign-in in Entra "
            "(by hand, or because a consent request for it was blocked). Nobody in the "
            "organisation can connect until it is enabled again.",
            Actor.TENANT_ADMIN,
            True,
            Remedy.ENABLE_SIGN_IN,
            Cause.APP_DISABLED,
        ),
        ClassInfo(
            FailureClass.USER_NOT_ASSIGNED,
            "This person isn't on the list of people allowed to use Cronofy",
            "The Cronofy enterprise application only admits users (or groups) assigned to "
            "it, and this person isn't one of them.",
            Actor.TENANT_ADMIN,
            True,
            Remedy.ASSIGN_USER,
            Cause.NOT_ASSIGNED,
        ),
        ClassInfo(
            FailureClass.CONDITIONAL_ACCESS,
            "A sign-in security policy stopped the connection",
            "This isn't a consent problem: a Conditional Access rule (device, location, "
            "multi-factor sign-in) refused the sign-in. Granting consent won't change it.",
            Actor.TENANT_ADMIN,
            False,
            Remedy.REVIEW_CONDITIONAL_ACCESS,
            Cause.CONDITIONAL_ACCESS_POLICY,
        ),
        ClassInfo(
            FailureClass.USER_DECLINED,
            "The person declined Microsoft's consent screen",
            "Microsoft showed the consent screen and the person didn't accept it. They can "
            "simply try again and press Accept.",
            Actor.USER,
            False,
            Remedy.RETRY_AND_ACCEPT,
            Cause.USER_DECLINED,
        ),
        ClassInfo(
            FailureClass.USER_CANCELLED,
            "The person stopped before finishing",
            "The person says they cancelled the Microsoft sign-in. Nothing is broken; they "
            "can try again whenever they like.",
            Actor.USER,
            False,
            Remedy.RETRY_AND_ACCEPT,
            Cause.USER_CANCELLED,
        ),
        ClassInfo(
            FailureClass.GUEST_ACCOUNT,
            "Signed in with an account from another organisation",
            "Microsoft didn't recognise the account as a member of this organisation (a "
            "guest, external or personal account was used). Signing in with the work "
            "account fixes it.",
            Actor.USER,
            False,
            Remedy.USE_WORK_ACCOUNT,
            Cause.EXTERNAL_ACCOUNT,
        ),
        ClassInfo(
            FailureClass.UNKNOWN,
            "Connecting the calendar didn't finish",
            "calbot can't tell yet why the Microsoft sign-in didn't complete. The error "
            "text, the sign-in logs or a support request will tell.",
            Actor.NOBODY,
            False,
            Remedy.INVESTIGATE,
            Cause.UNRECOGNISED,
        ),
    )
}


# --------------------------------------------------------------------------- causes


@dataclass(frozen=True)
class CauseInfo:
    cause: Cause
    failure_class: FailureClass
    #: Position in the decision table: the lowest rank among the signals wins.
    rank: int
    actor: Actor
    remedy: Remedy
    explanation: str
    #: Support (calbot operators / Cronofy) should look at it if the admin's fix fails.
    escalate: bool = False


CAUSES: dict[Cause, CauseInfo] = {
    info.cause: info
    for info in (
        CauseInfo(
            Cause.WRONG_CRONOFY_APP,
            FailureClass.UNKNOWN,
            10,
            Actor.NOBODY,
            Remedy.ESCALATE,
            "The error names a different Cronofy application from the one calbot uses.",
            escalate=True,
        ),
        CauseInfo(
            Cause.APP_DISABLED,
            FailureClass.APP_BLOCKED,
            20,
            Actor.TENANT_ADMIN,
            Remedy.ENABLE_SIGN_IN,
            "Sign-in is disabled for the Cronofy enterprise application in this tenant.",
        ),
        CauseInfo(
            Cause.NOT_ASSIGNED,
            FailureClass.USER_NOT_ASSIGNED,
            30,
            Actor.TENANT_ADMIN,
            Remedy.ASSIGN_USER,
            "The app requires assignment and the person isn't assigned, directly or through "
            "a directly assigned group.",
        ),
        CauseInfo(
            Cause.CONDITIONAL_ACCESS_POLICY,
            FailureClass.CONDITIONAL_ACCESS,
            40,
            Actor.TENANT_ADMIN,
            Remedy.REVIEW_CONDITIONAL_ACCESS,
            "A Conditional Access policy (device, client app or security condition) refused "
            "the sign-in.",
        ),
        CauseInfo(
            Cause.RISKY_APP,
            FailureClass.ADMIN_CONSENT_REQUIRED,
            50,
            Actor.TENANT_ADMIN,
            Remedy.REVIEW_RISKY_CONSENT,
            "Microsoft's risk check judged this consent request risky, so only an admin can "
            "approve it.",
        ),
        CauseInfo(
            Cause.CONSENT_REQUEST_PENDING,
            FailureClass.USER_CONSENT_BLOCKED,
            60,
            Actor.TENANT_ADMIN,
            Remedy.REVIEW_CONSENT_REQUEST,
            "The tenant uses the admin consent workflow; the person was offered a form to "
            "request approval, which waits for a reviewer.",
        ),
        CauseInfo(
            Cause.CONSENT_POLICY,
            FailureClass.USER_CONSENT_BLOCKED,
            70,
            Actor.TENANT_ADMIN,
            Remedy.GRANT_ADMIN_CONSENT,
            "The tenant's user-consent policy (off, or limited to low-impact permissions) "
            "blocks the person from consenting. The same message appears when assignment is "
            "required but nobody has granted consent for the tenant, or when Microsoft flags "
            "the app as risky.",
        ),
        CauseInfo(
            Cause.ADMIN_ONLY_PERMISSION,
            FailureClass.ADMIN_CONSENT_REQUIRED,
            75,
            Actor.TENANT_ADMIN,
            Remedy.GRANT_ADMIN_CONSENT,
            "The person isn't allowed to grant the permissions requested; an admin must.",
        ),
        CauseInfo(
            Cause.MISCONFIGURED_APP,
            FailureClass.ADMIN_CONSENT_REQUIRED,
            80,
            Actor.TENANT_ADMIN,
            Remedy.GRANT_ADMIN_CONSENT,
            "Microsoft reports the app as misconfigured; usually admin consent for the tenant "
            "is missing. If a grant doesn't clear it, support must look.",
            escalate=True,
        ),
        CauseInfo(
            Cause.CONSENT_MISSING,
            FailureClass.USER_CONSENT_BLOCKED,
            90,
            Actor.USER,
            Remedy.RECONNECT,
            "No consent exists for the app (never given, or withdrawn). Reconnecting asks "
            "for it again; if Microsoft then wants an admin, the tenant blocks user consent.",
        ),
        CauseInfo(
            Cause.CONSENT_REVOKED,
            FailureClass.USER_CONSENT_BLOCKED,
            95,
            Actor.USER,
            Remedy.RECONNECT,
            "A working connection stopped being accepted (invalid_grant). A changed consent "
            "policy or a withdrawn grant can do this, but so can a password reset or an "
            "expired session.",
        ),
        CauseInfo(
            Cause.USER_DECLINED,
            FailureClass.USER_DECLINED,
            100,
            Actor.USER,
            Remedy.RETRY_AND_ACCEPT,
            "The person refused the consent screen.",
        ),
        CauseInfo(
            Cause.USER_CANCELLED,
            FailureClass.USER_CANCELLED,
            105,
            Actor.USER,
            Remedy.RETRY_AND_ACCEPT,
            "The person cancelled the sign-in.",
        ),
        CauseInfo(
            Cause.EXTERNAL_ACCOUNT,
            FailureClass.GUEST_ACCOUNT,
            110,
            Actor.USER,
            Remedy.USE_WORK_ACCOUNT,
            "The account belongs to another organisation or identity provider (a guest or "
            "external account).",
        ),
        CauseInfo(
            Cause.WRONG_ACCOUNT,
            FailureClass.GUEST_ACCOUNT,
            111,
            Actor.USER,
            Remedy.USE_WORK_ACCOUNT,
            "Microsoft couldn't find the account in this organisation; another account was "
            "probably used.",
        ),
        CauseInfo(
            Cause.ACCOUNT_PROBLEM,
            FailureClass.UNKNOWN,
            115,
            Actor.USER,
            Remedy.FIX_SIGN_IN,
            "The sign-in itself failed (wrong password, locked or disabled account).",
        ),
        CauseInfo(
            Cause.MFA_INCOMPLETE,
            FailureClass.CONDITIONAL_ACCESS,
            120,
            Actor.USER,
            Remedy.COMPLETE_MFA,
            "Multi-factor sign-in was required and wasn't completed (or isn't set up yet).",
        ),
        CauseInfo(
            Cause.TENANT_SERVICE_MISSING,
            FailureClass.UNKNOWN,
            130,
            Actor.TENANT_ADMIN,
            Remedy.CHECK_MAILBOX,
            "A Microsoft service Cronofy needs (for a calendar: Exchange Online) isn't "
            "available to this tenant or user.",
            escalate=True,
        ),
        CauseInfo(
            Cause.VENDOR_CONFIG,
            FailureClass.UNKNOWN,
            140,
            Actor.NOBODY,
            Remedy.ESCALATE,
            "Microsoft rejected how the sign-in request was built; this is for calbot's and "
            "Cronofy's support, not for the organisation's admins.",
            escalate=True,
        ),
        CauseInfo(
            Cause.TRANSIENT,
            FailureClass.UNKNOWN,
            150,
            Actor.NOBODY,
            Remedy.RETRY_LATER,
            "A temporary problem on Microsoft's side.",
        ),
        CauseInfo(
            Cause.ACCESS_DENIED,
            FailureClass.UNKNOWN,
            160,
            Actor.USER,
            Remedy.ASK_USER,
            "The sign-in came back as access_denied without details. That is what both a "
            "declined consent screen and a 'Need admin approval' stop look like, so the "
            "person has to say which screen they saw.",
        ),
        CauseInfo(
            Cause.NO_CALLBACK,
            FailureClass.UNKNOWN,
            170,
            Actor.USER,
            Remedy.ASK_USER,
            "The person opened the link but never came back. People stopped by 'Need admin "
            "approval' usually end up here, since Microsoft doesn't send them back.",
        ),
        CauseInfo(
            Cause.UNRECOGNISED,
            FailureClass.UNKNOWN,
            180,
            Actor.NOBODY,
            Remedy.INVESTIGATE,
            "calbot doesn't recognise this error.",
            escalate=True,
        ),
    )
}


# --------------------------------------------------------------------------- codes


@dataclass(frozen=True)
class CodeInfo:
    code: str  # "AADSTS90094"
    name: str  # Microsoft's short error name, where it has one
    meaning: str
    cause: Cause

    @property
    def failure_class(self) -> FailureClass:
        return CAUSES[self.cause].failure_class

    @property
    def rank(self) -> int:
        return CAUSES[self.cause].rank

    @property
    def lookup_url(self) -> str:
        return f"https://login.microsoftonline.com/error?code={self.code.removeprefix('AADSTS')}"


def _codes(cause: Cause, *rows: tuple[int, str, str]) -> list[CodeInfo]:
    return [CodeInfo(f"AADSTS{number}", name, meaning, cause) for number, name, meaning in rows]


_CODE_ROWS: list[CodeInfo] = [
    *_codes(
        Cause.APP_DISABLED,
        (7000112, "UnauthorizedClientApplicationDisabled", "the app is disabled in the tenant"),
        (70001, "UnauthorizedClient", "the app is disabled or unknown in the tenant"),
    ),
    *_codes(
        Cause.NOT_ASSIGNED,
        (50105, "EntitlementGrantsNotFound", "the user isn't assigned to the app"),
    ),
    *_codes(
        Cause.CONDITIONAL_ACCESS_POLICY,
        (53003, "BlockedByConditionalAccess", "a Conditional Access policy blocked the token"),
        (53000, "DeviceNotCompliant", "the device isn't compliant"),
        (53001, "DeviceNotDomainJoined", "the device isn't domain joined"),
        (53002, "ApplicationUsedIsNotAnApprovedApp", "the client app isn't approved"),
        (50005, "DevicePolicyError", "the device platform isn't allowed"),
        (530032, "BlockedByConditionalAccessOnSecurityPolicy", "a security policy blocked it"),
        (530003, "", "a managed device is required"),
    ),
    *_codes(
        Cause.RISKY_APP,
        (900941, "AdminConsentRequiredDueToRiskyApp", "risky app; only an admin can consent"),
        (900981, "AdminConsentRequestRiskyAppWarning", "risky app; admin approval requested"),
    ),
    *_codes(
        Cause.CONSENT_REQUEST_PENDING,
        (90095, "AdminConsentRequiredRequestAccess", "admin consent workflow: request approval"),
    ),
    *_codes(
        Cause.CONSENT_POLICY,
        (90094, "AdminConsentRequired", "admin consent is required by the tenant's policy"),
    ),
    *_codes(
        Cause.ADMIN_ONLY_PERMISSION,
        (90093, "GraphUserUnauthorized", "the user isn't allowed to grant these permissions"),
    ),
    *_codes(
        Cause.MISCONFIGURED_APP,
        (650056, "", "misconfigured app, or no admin consent for it"),
    ),
    *_codes(
        Cause.CONSENT_MISSING,
        (65001, "DelegationDoesNotExist", "the user or an admin hasn't consented to the app"),
    ),
    *_codes(
        Cause.USER_DECLINED,
        (65004, "UserDeclinedConsent", "the user declined to consent"),
    ),
    *_codes(
        Cause.EXTERNAL_ACCOUNT,
        (50020, "UserUnauthorized", "the account isn't a member of the tenant"),
        (90072, "PassThroughUserMfaError", "external account can't satisfy MFA here"),
        (50177, "ExternalChallengeNotSupportedForPassthroughUsers", "external user challenge"),
    ),
    *_codes(
        Cause.WRONG_ACCOUNT,
        (50034, "UserAccountNotFound", "the account doesn't exist in the directory"),
        (16000, "", "the account isn't valid for this sign-in"),
        (500208, "", "the domain isn't valid for this account type"),
    ),
    *_codes(
        Cause.ACCOUNT_PROBLEM,
        (50126, "InvalidUserNameOrPassword", "wrong user name or password"),
        (50053, "IdsLocked", "the account is locked"),
        (50057, "UserDisabled", "the account is disabled"),
    ),
    *_codes(
        Cause.MFA_INCOMPLETE,
        (50076, "UserStrongAuthClientAuthNRequired", "multi-factor sign-in is required"),
        (50079, "UserStrongAuthEnrollmentRequired", "multi-factor registration is required"),
        (50072, "UserStrongAuthEnrollmentRequiredInterrupt", "MFA registration required"),
        (50074, "UserStrongAuthClientAuthNRequiredInterrupt", "strong authentication required"),
        (500121, "", "multi-factor sign-in wasn't completed"),
        (50158, "ExternalSecurityChallenge", "an external security challenge wasn't met"),
    ),
    *_codes(
        Cause.TENANT_SERVICE_MISSING,
        (650052, "", "the tenant lacks a service the app needs"),
        (65005, "MisconfiguredApplication", "a required resource isn't available in the tenant"),
        (500011, "InvalidResourceServicePrincipalNotFound", "resource not found in the tenant"),
    ),
    *_codes(
        Cause.VENDOR_CONFIG,
        (700016, "UnauthorizedClient_DoesNotMatchRequest", "the app id isn't known here"),
        (90008, "TokenForItselfRequiresGraphPermission", "the app lacks sign-in permission"),
        (65002, "", "pre-authorisation rule for a first-party API"),
        (900971, "", "no reply address in the request"),
        (50011, "InvalidReplyTo", "the reply address doesn't match"),
        (90002, "InvalidTenantName", "the tenant wasn't found"),
    ),
    *_codes(
        Cause.TRANSIENT,
        (90090, "", "an intermittent problem recording consent"),
        (90033, "MsodsServiceUnavailable", "a Microsoft service is unavailable"),
        (90006, "ExternalServerRetryableError", "a retryable server error"),
    ),
]

CODES: dict[str, CodeInfo] = {info.code: info for info in _CODE_ROWS}


def normalise_code(code: str | int) -> str | None:
    """``90094``, ``"90094"``, ``"aadsts90094"`` → ``"AADSTS90094"``; junk → ``None``."""
    text = str(code).strip().upper().removeprefix("AADSTS")
    if 5 <= len(text) <= 7 and text.isascii() and text.isdigit():
        return f"AADSTS{text}"
    return None


def lookup_code(code: str | int) -> CodeInfo | None:
    normal = normalise_code(code)
    return CODES.get(normal) if normal else None


def code_rank(code: str) -> int:
    """Specificity of a code: its decision-table rank; unknown codes come last."""
    info = lookup_code(code)
    return info.rank if info else 1_000


# --------------------------------------------------------------------------- phrases


@dataclass(frozen=True)
class Phrase:
    """Words from Microsoft's pages that point at a cause when no code is visible."""

    key: str
    cause: Cause
    patterns: tuple[str, ...]  # case-insensitive regular expressions, any language


PHRASES: tuple[Phrase, ...] = (
    Phrase(
        "app_blocked",
        Cause.APP_DISABLED,
        (
            r"this app is blocked",
            r"\bapp(?:lication)? (?:has been |is )blocked",
            r"UnauthorizedClientApplicationDisabled",
            r"\bapplication '[^'\n]{0,200}'(?:\([^)\n]{0,200}\))? is disabled",
            r"diese app (?:ist|wurde) blockiert",
            r"cette application est bloquée",
        ),
    ),
    Phrase(
        "not_assigned",
        Cause.NOT_ASSIGNED,
        (
            r"not assigned to a role for the application",
            r"specifically granted \('assigned'\)",
            r"EntitlementGrantsNotFound",
            r"is not assigned to (?:the|this) app",
            r"isn't assigned to (?:the|this) app",
        ),
    ),
    Phrase(
        "conditional_access",
        Cause.CONDITIONAL_ACCESS_POLICY,
        (
            r"BlockedByConditionalAccess",
            r"conditional access polic",
            r"you cannot access this right now",
            r"does not meet the criteria to access this resource",
            r"device is required to be managed",
            r"DeviceNotCompliant",
        ),
    ),
    Phrase(
        "risky_app",
        Cause.RISKY_APP,
        (r"(?:might|may) be risky", r"AdminConsentRequiredDueToRiskyApp"),
    ),
    Phrase(
        "approval_required",
        Cause.CONSENT_REQUEST_PENDING,
        (
            r"(?<!admin )approval required",
            r"\brequest approval\b",
            r"AdminConsentRequiredRequestAccess",
            r"(?<!administrator)genehmigung erforderlich",
            r"genehmigung anfordern",
            r"(?<!de l')approbation requise",
            r"demander une approbation",
        ),
    ),
    Phrase(
        "need_admin_approval",
        Cause.CONSENT_POLICY,
        (
            r"need admin approval",
            r"admin approval required",
            r"set a policy that prevents you from granting",
            r"administratorgenehmigung erforderlich",
            r"genehmigung des administrators erforderlich",
            r"approbation de l'administrateur (?:requise|nécessaire)",
            r"approbation administrateur (?:requise|nécessaire)",
        ),
    ),
    Phrase(
        "admin_consent_required",
        Cause.ADMIN_ONLY_PERMISSION,
        (
            r"admin consent (?:is )?required",
            r"only an admin can grant",
            r"(?:not|aren't|are not) authori[sz]ed to grant",
            r"administratorzustimmung erforderlich",
            r"nur ein administrator (?:kann|erteilen)",
            r"consentement (?:de l'administrateur|administrateur) (?:est )?requis",
            r"seul un administrateur peut",
        ),
    ),
    Phrase(
        "misconfigured_app",
        Cause.MISCONFIGURED_APP,
        (r"misconfigured application",),
    ),
    Phrase(
        "consent_missing",
        Cause.CONSENT_MISSING,
        (r"has not consented to use the application", r"DelegationDoesNotExist"),
    ),
    Phrase(
        "declined_consent",
        Cause.USER_DECLINED,
        (
            r"declined to consent",
            r"UserDeclinedConsent",
            r"user has denied access",
            r"denied the request",
        ),
    ),
    Phrase(
        "external_account",
        Cause.EXTERNAL_ACCOUNT,
        (
            r"does not exist in tenant",
            r"added as an external user",
            r"must be added as an external user",
        ),
    ),
    Phrase(
        "mfa_required",
        Cause.MFA_INCOMPLETE,
        (
            r"UserStrongAuthClientAuthNRequired",
            r"UserStrongAuthEnrollmentRequired",
            r"didn't complete the MFA",
            r"must use multi-factor authentication",
        ),
    ),
    Phrase(
        "service_missing",
        Cause.TENANT_SERVICE_MISSING,
        (r"hasn't subscribed to or enabled", r"lacks a service principal"),
    ),
)

PHRASES_BY_KEY: dict[str, Phrase] = {p.key: p for p in PHRASES}

#: Each phrase with its patterns compiled once (case-insensitive).
PHRASE_REGEXES: tuple[tuple[Phrase, tuple[re.Pattern[str], ...]], ...] = tuple(
    (p, tuple(re.compile(pattern, re.IGNORECASE) for pattern in p.patterns)) for p in PHRASES
)
