"""What to do about each failure, as structured data (chat cards are built elsewhere).

The steps follow the seed admin guide for "Cronofy for Office 365" (grant steps 1–9,
consent options A/B/C, common mistakes), rewritten in calbot's words and corrected where
``reference/entra.md`` §0 says the guide falls short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from integrations.entra import links
from integrations.entra.catalogue import (
    CAUSES,
    CLASSES,
    CRONOFY_APP_ID,
    CRONOFY_APP_NAME,
    Actor,
    Cause,
    FailureClass,
    Remedy,
)
from integrations.entra.classify import Classification
from integrations.entra.links import Link

#: What a fresh failed sign-in record must contain (the guide's step 9).
NEW_SIGN_IN_RECORD_FIELDS = (
    "timestamp, with time zone",
    "affected user",
    "error code",
    "correlation ID",
    "failure reason",
)

GRANT_ROLE = (
    "Cloud Application Administrator or Application Administrator (Global Administrator also works)"
)
POLICY_ROLE = "Global Administrator"
LOG_ROLE = "Reports Reader, Security Reader or higher"


@dataclass(frozen=True)
class Step:
    number: int
    text: str
    link: Link | None = None


@dataclass(frozen=True)
class ConsentOption:
    """One of the guide's standing policies (instead of a one-off grant)."""

    letter: str
    title: str
    summary: str
    steps: tuple[str, ...]
    role: str
    note: str = ""


@dataclass(frozen=True)
class Remediation:
    failure_class: FailureClass
    cause: Cause
    remedy: Remedy
    actor: Actor
    consent_problem: bool
    title: str
    #: What the class means, in plain words.
    diagnosis: str
    #: The likelier cause within the class (from the decision table).
    cause_explanation: str
    #: The fastest fix in one sentence, when there is one (the admin-consent link).
    shortcut: str | None
    steps: tuple[Step, ...]
    verify: tuple[str, ...]
    links: tuple[Link, ...]
    mistakes: tuple[str, ...]
    options: tuple[ConsentOption, ...]
    #: The guide's step 9: what to send if it still fails after the change.
    if_still_failing: tuple[str, ...]
    #: What calbot tells the affected person meanwhile.
    tell_user: str
    #: Least-privileged Entra role that can carry out the steps (``None`` for users).
    role: str | None
    #: calbot's / Cronofy's support should be involved if the steps don't help.
    escalate: bool
    app_name: str = CRONOFY_APP_NAME
    app_id: str = CRONOFY_APP_ID

    def as_text(self) -> str:
        """A plain-text rendering (console, logs, tests)."""
        out = [self.title, "", f"{self.diagnosis} {self.cause_explanation}".strip()]
        if self.shortcut:
            out += ["", self.shortcut]
        out += ["", "Steps:"]
        for step in self.steps:
            out.append(f"{step.number}. {step.text}")
            if step.link:
                out.append(f"   {step.link.url}")
        if self.verify:
            out += ["", "How to check:", *(f"- {line}" for line in self.verify)]
        if self.options:
            out += ["", "Or choose a standing policy:"]
            out += [f"- Option {o.letter}: {o.title}. {o.summary}" for o in self.options]
        if self.mistakes:
            out += ["", "Common mistakes:", *(f"- {line}" for line in self.mistakes)]
        if self.if_still_failing:
            out += ["", *self.if_still_failing]
        if self.links:
            out += ["", "Links:"]
            out += [f"- {link.label}: {link.url} ({link.click_path})" for link in self.links]
        return "\n".join(out)


# --------------------------------------------------------------------------- shared text

MISTAKE_POLICY_NOT_ACCESS = (
    "Approving Cronofy here is not tenant-wide calendar access. Cronofy uses delegated, "
    "per-person permissions: the approval only lifts your consent policy, and each person "
    "still connects and approves their own calendar afterwards."
)
MISTAKE_SSO_APP = (
    "Approving the Cezanne (or any other single sign-on) app doesn't approve Cronofy: "
    "they are separate applications in Entra."
)
MISTAKE_PROMPT_MEANING = (
    "An admin-consent prompt doesn't mean Cronofy wants app-only (Enterprise Connect) "
    "access; usually it is just your tenant's consent policy."
)
MISTAKE_WRONG_APP = (
    f'Check the Application ID: only "{CRONOFY_APP_NAME}" ({CRONOFY_APP_ID}) is used here, '
    "not other Cronofy apps or object IDs."
)
MISTAKE_ASSIGNMENT_ALONE = (
    'Turning on "Assignment required?" isn\'t enough on its own: assigned people still '
    "can't consent for themselves, so grant admin consent for the tenant as well."
)
MISTAKE_BLOCK_DISABLES = (
    "Choosing Block on an admin consent request switches the app off for everyone; "
    "choose Deny if people should be able to ask again."
)
MISTAKE_CA_NOT_CONSENT = (
    "Granting admin consent won't help: Conditional Access decides after consent, so the "
    "policy itself (or the person's device / sign-in method) has to change."
)

_CONSENT_MISTAKES = (
    MISTAKE_POLICY_NOT_ACCESS,
    MISTAKE_SSO_APP,
    MISTAKE_PROMPT_MEANING,
    MISTAKE_WRONG_APP,
)

CONSENT_OPTIONS: tuple[ConsentOption, ...] = (
    ConsentOption(
        "A",
        "Let people approve Cronofy themselves",
        "Allow user consent, so each person can approve access to their own calendar "
        "without an admin.",
        (
            "Enterprise applications → Consent and permissions → User consent settings.",
            "Allow user consent for apps; if you only allow verified publishers with "
            "low-impact permissions, classify Calendars.ReadWrite as low impact too, or "
            "Cronofy stays blocked.",
            "Save. People can now connect without asking you.",
        ),
        POLICY_ROLE,
    ),
    ConsentOption(
        "B",
        "Approve through the admin consent workflow",
        "People who hit the block send a request; a reviewer approves Cronofy once for everyone.",
        (
            "Enterprise applications → Consent and permissions → Admin consent settings.",
            "Set 'Users can request admin consent to apps they are unable to consent to' "
            "to Yes, pick the reviewers and save (it can take up to an hour to apply).",
            "Approve requests under Enterprise applications → Activity → Admin consent "
            "requests → My Pending.",
        ),
        POLICY_ROLE,
        "Reviewers need a role that can grant consent to approve; others can only forward.",
    ),
    ConsentOption(
        "C",
        "Only some people may connect",
        "Require assignment on the Cronofy app and assign only the allowed people or "
        "groups; this controls who can sign in to it.",
        (
            f'{links.PATH_APP} → Manage → Properties → "Assignment required?" = Yes → Save.',
            "Manage → Users and groups → Add user/group → pick the allowed users or groups "
            "(members of nested groups don't count; group assignment needs Entra ID P1/P2).",
            "Security → Permissions → Grant admin consent once: assigned people can't "
            "consent for themselves.",
        ),
        GRANT_ROLE,
    ),
)


def if_still_failing_text() -> tuple[str, ...]:
    """The guide's step 9, for alerts and for a repeat failure after a fix."""
    return (
        "If it still fails after your change, send a NEW failed sign-in record from after "
        "the change (Sign-in logs → Application "
        f'"{CRONOFY_APP_NAME}", Status Failure): ' + "; ".join(NEW_SIGN_IN_RECORD_FIELDS) + ".",
        "Don't reuse the earlier failure: it was recorded before your fix and can't show "
        "whether the fix worked. Logs are kept 7 days (Entra ID Free) or 30 days (P1/P2).",
    )


# --------------------------------------------------------------------------- builders


@dataclass(frozen=True)
class _Context:
    tenant: str | None
    org: str
    people: str
    sp_object_id: str | None
    correlation_id: str | None
    code: str | None

    @property
    def portal_tenant(self) -> None:
        # Pinning the tenant in portal URLs isn't documented; keep the admin's default.
        return None

    def consent_link(self) -> Link:
        return links.admin_consent_link(self.tenant)

    def app(self, blade: str) -> Link:
        """A page of the Cronofy app (the app list plus a click path without the object id)."""
        return links.app_link(blade, self.sp_object_id, self.portal_tenant)

    def app_step(self, blade: str) -> Link | None:
        """A direct link for a step, only when the page itself can be linked."""
        return self.app(blade) if self.sp_object_id else None


_Lines = list[tuple[str, Link | None]]


def _find_app(ctx: _Context) -> _Lines:
    return [
        (
            f"Sign in to the Microsoft Entra admin center (entra.microsoft.com) as a {GRANT_ROLE}.",
            None,
        ),
        (
            "Open Enterprise applications → All applications.",
            links.enterprise_apps_link(ctx.portal_tenant),
        ),
        (
            f'Search for "{CRONOFY_APP_NAME}" (or its Application ID) and open it. Nothing '
            "found? Then nobody in your organisation has consented yet: use the one-click "
            "approval link instead, which adds the app and grants consent in one go.",
            ctx.consent_link(),
        ),
        (
            f"On the Overview page, make sure the Application ID is {CRONOFY_APP_ID}. "
            "Other Cronofy apps (Enterprise Connect, Free/Busy) are not the one to approve.",
            ctx.app_step("Overview"),
        ),
    ]


def _grant(ctx: _Context, *, check_assignment: bool = True) -> _Lines:
    lines: _Lines = [
        ("Go to Security → Permissions.", ctx.app_step("Permissions")),
        (
            f'Click "Grant admin consent for {ctx.org}", review the permissions (User.Read, '
            "Calendars.ReadWrite, offline_access: each person's own calendar only) and "
            "accept.",
            None,
        ),
        (
            'Reload the page: the notice "No admin consented permissions found for the '
            'application" must be gone, with User.Read and Calendars.ReadWrite listed as '
            "admin-consented (offline_access is often not listed; that is normal).",
            None,
        ),
    ]
    if check_assignment:
        lines.append(
            (
                'If Manage → Properties shows "Assignment required?" = Yes, also add the '
                "people (or a group they are directly in) under Manage → Users and groups.",
                ctx.app_step("Users"),
            )
        )
    return lines


def _retry(ctx: _Context) -> _Lines:
    return [
        (
            f'Press "I\'ve fixed it" in calbot: it asks {ctx.people} to connect again. Each '
            "person still approves access to their own calendar.",
            None,
        )
    ]


def _steps_for(remedy: Remedy, ctx: _Context) -> _Lines:
    if remedy is Remedy.GRANT_ADMIN_CONSENT:
        return _find_app(ctx) + _grant(ctx) + _retry(ctx)
    if remedy is Remedy.REVIEW_CONSENT_REQUEST:
        return [
            (
                "Sign in to the Microsoft Entra admin center as a consent reviewer with a "
                f"role that can grant consent ({GRANT_ROLE}); a reviewer without one can "
                "only forward the request.",
                None,
            ),
            (
                "Open Enterprise applications → Activity → Admin consent requests → My Pending.",
                links.admin_consent_requests_link(ctx.portal_tenant),
            ),
            (
                f'Open the request for "{CRONOFY_APP_NAME}" and check the Application ID '
                f"is {CRONOFY_APP_ID}.",
                None,
            ),
            (
                "Choose Review permissions and consent → Accept. (Deny lets people ask "
                "again later; Block switches the app off for everyone.)",
                None,
            ),
            (
                "Check that the request left My Pending and that Security → Permissions "
                'no longer says "No admin consented permissions found".',
                ctx.app_step("Permissions"),
            ),
            *_retry(ctx),
        ]
    if remedy is Remedy.REVIEW_RISKY_CONSENT:
        return [
            (
                "Sign in to the Microsoft Entra admin center and open Monitoring & health "
                '→ Audit logs; filter Category "ApplicationManagement", Activity "Consent '
                'to application", Status Failure. The status reason should mention a risky '
                "app.",
                None,
            ),
            *_find_app(ctx)[1:],
            *_grant(ctx, check_assignment=False),
            *_retry(ctx),
        ]
    if remedy is Remedy.ASSIGN_USER:
        return [
            *_find_app(ctx),
            (
                f"Go to Manage → Users and groups → Add user/group, select {ctx.people} (or "
                "a group they are directly in: members of nested groups don't count, and "
                "group assignment needs Entra ID P1/P2) → Assign.",
                ctx.app_step("Users"),
            ),
            (
                'Go to Security → Permissions. If it says "No admin consented permissions '
                f'found", also click "Grant admin consent for {ctx.org}": with assignment '
                "required, people can't consent for themselves.",
                ctx.app_step("Permissions"),
            ),
            (
                "If you don't want to restrict Cronofy to assigned people, set Manage → "
                'Properties → "Assignment required?" to No and save instead.',
                ctx.app_step("Properties"),
            ),
            *_retry(ctx),
        ]
    if remedy is Remedy.ENABLE_SIGN_IN:
        return [
            *_find_app(ctx),
            (
                'Go to Manage → Properties and look at "Enabled for users to sign in?". If '
                "it is No and nobody meant to block Cronofy, set it to Yes and save.",
                ctx.app_step("Properties"),
            ),
            (
                'Go to Security → Permissions. If it says "No admin consented permissions '
                f'found", click "Grant admin consent for {ctx.org}" too.',
                ctx.app_step("Permissions"),
            ),
            (
                'If Cronofy is blocked on purpose, press "Not a consent problem" in '
                "calbot so it stops asking people to connect.",
                None,
            ),
            *_retry(ctx),
        ]
    if remedy is Remedy.REVIEW_CONDITIONAL_ACCESS:
        where = (
            f"filter by Correlation ID {ctx.correlation_id}"
            if ctx.correlation_id
            else f'filter Application "{CRONOFY_APP_NAME}", Status Failure and the date'
        )
        return [
            (f"Sign in to the Microsoft Entra admin center ({LOG_ROLE} can read logs).", None),
            (
                f"Open Monitoring & health → Sign-in logs and {where}.",
                links.sign_in_logs_link(ctx.portal_tenant),
            ),
            (
                "Open the failed sign-in → Conditional Access tab: note which policy failed "
                "and which condition (device, location, MFA, client app).",
                None,
            ),
            (
                "Decide: either the person meets the condition (a compliant or managed "
                "device, completed MFA, an allowed location), or the policy gets an "
                "exception for Cronofy.",
                links.conditional_access_link(ctx.portal_tenant),
            ),
            (
                "Check with the What If tool or a new attempt, then ask the person to "
                "connect again.",
                None,
            ),
        ]
    if remedy is Remedy.CHECK_MAILBOX:
        return [
            (
                f"Check that {ctx.people} have an Exchange Online mailbox and a licence "
                "that includes it (Microsoft 365 admin center → Users → Active users → "
                "Licenses and apps).",
                None,
            ),
            (
                "If they do, check Security → Permissions of the Cronofy app and grant "
                "admin consent if it is empty.",
                ctx.app_step("Permissions"),
            ),
            ("If it still fails, send the support checklist to calbot's support.", None),
        ]
    if remedy is Remedy.RETRY_AND_ACCEPT:
        return [
            ("Ask calbot for a fresh connect link and open it.", None),
            ("Sign in with your work account.", None),
            ("On Microsoft's permission screen, press Accept.", None),
            (
                'If Microsoft says "Need admin approval" or "Approval required" instead, '
                "tell calbot: your admin has to approve Cronofy first.",
                None,
            ),
        ]
    if remedy is Remedy.RECONNECT:
        return [
            ("Ask calbot for a fresh connect link and open it.", None),
            ("Sign in with your work account and accept the permission screen.", None),
            (
                'If Microsoft says "Need admin approval", tell calbot: an admin must '
                "approve Cronofy for your organisation.",
                None,
            ),
        ]
    if remedy is Remedy.USE_WORK_ACCOUNT:
        return [
            ("Open a private (incognito) browser window.", None),
            ("Ask calbot for a fresh connect link and open it in that window.", None),
            (
                "Sign in with your work account of this organisation, not a personal or "
                'guest account; pick "Use another account" if Microsoft offers others.',
                None,
            ),
        ]
    if remedy is Remedy.COMPLETE_MFA:
        return [
            ("Ask calbot for a fresh connect link and open it.", None),
            ("Complete the extra sign-in check (Authenticator app, code or key).", None),
            (
                "If Microsoft asks you to set up security info, do it, then try again.",
                Link("My security info", links.MY_SECURITY_INFO_URL, "My Sign-Ins → Security info"),
            ),
            ("Still blocked? Your admin can look the attempt up in the sign-in logs.", None),
        ]
    if remedy is Remedy.FIX_SIGN_IN:
        return [
            (
                "Check you can sign in to Microsoft 365 with your work account at all.",
                Link("My Sign-Ins", links.MY_SIGN_INS_URL, "mysignins.microsoft.com"),
            ),
            ("If the account is locked or disabled, ask your IT helpdesk.", None),
            ("Then ask calbot for a fresh connect link.", None),
        ]
    if remedy is Remedy.RETRY_LATER:
        return [
            ("Wait a few minutes: Microsoft reported a temporary problem.", None),
            ("Ask calbot for a fresh connect link and try again.", None),
            ("If it keeps failing, paste Microsoft's error text to calbot.", None),
        ]
    if remedy is Remedy.ASK_USER:
        return [
            (
                "Ask the person what Microsoft showed: Need admin approval, Approval "
                "required, This app is blocked, they cancelled, or something else.",
                None,
            ),
            (
                'Better still, ask them to paste the "More details" / "Troubleshooting '
                'details" block (Request Id, Correlation Id, Timestamp, error code).',
                None,
            ),
            (
                'They can also switch on "Flag sign-in errors for review" there and try '
                'again within 20 minutes, so an admin can filter "Flagged for review" in '
                "the sign-in logs.",
                None,
            ),
            (
                f'An admin can check Sign-in logs → Application "{CRONOFY_APP_NAME}", '
                "Status Failure and Interrupted.",
                links.sign_in_logs_link(ctx.portal_tenant),
            ),
        ]
    if remedy is Remedy.ESCALATE:
        return [
            (
                f'Check the error is about "{CRONOFY_APP_NAME}" ({CRONOFY_APP_ID}) and not '
                "another app.",
                None,
            ),
            (
                "Send the support checklist to calbot's support; they will take it up with "
                "Cronofy. Nothing in your tenant needs changing for this error.",
                None,
            ),
        ]
    # Remedy.INVESTIGATE
    lookup = links.error_lookup_url(ctx.code) if ctx.code else None
    return [
        (
            f'Open Sign-in logs, filter Application "{CRONOFY_APP_NAME}" (or its ID), '
            "Status Failure and Interrupted, and read the error code of the attempt.",
            links.sign_in_logs_link(ctx.portal_tenant),
        ),
        (
            "Look the code up on Microsoft's error page, or send it to calbot.",
            Link("Error code lookup", lookup, "login.microsoftonline.com/error")
            if lookup
            else None,
        ),
        (
            "Check User consent settings and Admin consent requests: most failures here "
            "are consent policy.",
            links.user_consent_settings_link(ctx.portal_tenant),
        ),
        ("If it is still unclear, send the support checklist.", None),
    ]


_VERIFY: dict[Remedy, tuple[str, ...]] = {
    Remedy.GRANT_ADMIN_CONSENT: (
        "Security → Permissions lists User.Read and Calendars.ReadWrite under admin consent; "
        '"No admin consented permissions found" is gone.',
        "An affected person connects successfully.",
    ),
    Remedy.REVIEW_CONSENT_REQUEST: (
        "The request is no longer under My Pending; requesters get Microsoft's e-mail.",
        'Security → Permissions no longer says "No admin consented permissions found".',
    ),
    Remedy.REVIEW_RISKY_CONSENT: (
        "Security → Permissions lists the admin-consented permissions.",
        "An affected person connects successfully.",
    ),
    Remedy.ASSIGN_USER: (
        "The person (or their group) is listed under Users and groups.",
        "Their next attempt succeeds.",
    ),
    Remedy.ENABLE_SIGN_IN: (
        'Properties shows "Enabled for users to sign in?" = Yes.',
        "An affected person connects successfully.",
    ),
    Remedy.REVIEW_CONDITIONAL_ACCESS: (
        "The What If tool, or the next sign-in, shows the policy satisfied.",
    ),
    Remedy.CHECK_MAILBOX: ("The person has a mailbox and their next attempt succeeds.",),
}

_TELL_USER: dict[Remedy, str] = {
    Remedy.GRANT_ADMIN_CONSENT: (
        "Your IT admin has been asked to approve Cronofy for your organisation. I'll tell "
        "you when you can try again."
    ),
    Remedy.REVIEW_CONSENT_REQUEST: (
        'If Microsoft offered "Request approval", send the request with a short reason. '
        "I'll tell you when it's approved."
    ),
    Remedy.REVIEW_RISKY_CONSENT: (
        "Your IT admin has been asked to review and approve Cronofy. I'll tell you when you "
        "can try again."
    ),
    Remedy.ASSIGN_USER: (
        "An admin is adding you to the people allowed to use Cronofy. I'll tell you when to "
        "try again."
    ),
    Remedy.ENABLE_SIGN_IN: (
        "Cronofy is switched off in your organisation; your admins have been told."
    ),
    Remedy.REVIEW_CONDITIONAL_ACCESS: (
        "A security policy blocked the sign-in. Your admin is looking at it; trying from a "
        "work-managed device may help."
    ),
    Remedy.CHECK_MAILBOX: "Your admin is checking your Microsoft 365 mailbox set-up.",
    Remedy.RETRY_AND_ACCEPT: "No problem: try again with a fresh link and press Accept.",
    Remedy.RECONNECT: "Your calendar connection needs renewing: please connect again.",
    Remedy.USE_WORK_ACCOUNT: (
        "Microsoft didn't recognise that account here. Try again in a private window with "
        "your work account."
    ),
    Remedy.COMPLETE_MFA: "Try again and complete Microsoft's extra sign-in check.",
    Remedy.FIX_SIGN_IN: "Microsoft couldn't sign you in. Check your account, then try again.",
    Remedy.RETRY_LATER: "Microsoft had a temporary problem. Please try again in a few minutes.",
    Remedy.ASK_USER: (
        "It looks like connecting didn't finish. What did Microsoft show? You can also paste "
        'the error text or the "More details" block.'
    ),
    Remedy.ESCALATE: "Something is wrong on our side; support has been told.",
    Remedy.INVESTIGATE: (
        "Connecting didn't finish and I couldn't tell why. If you still have Microsoft's "
        "error text, paste it here."
    ),
}

_ADMIN_REMEDIES = {
    Remedy.GRANT_ADMIN_CONSENT,
    Remedy.REVIEW_CONSENT_REQUEST,
    Remedy.REVIEW_RISKY_CONSENT,
    Remedy.ASSIGN_USER,
    Remedy.ENABLE_SIGN_IN,
    Remedy.REVIEW_CONDITIONAL_ACCESS,
    Remedy.CHECK_MAILBOX,
}


def _mistakes(failure_class: FailureClass, remedy: Remedy) -> tuple[str, ...]:
    if failure_class in (FailureClass.USER_CONSENT_BLOCKED, FailureClass.ADMIN_CONSENT_REQUIRED):
        extra = (MISTAKE_BLOCK_DISABLES,) if remedy is Remedy.REVIEW_CONSENT_REQUEST else ()
        return (*_CONSENT_MISTAKES, *extra)
    if failure_class is FailureClass.USER_NOT_ASSIGNED:
        return (MISTAKE_ASSIGNMENT_ALONE, MISTAKE_SSO_APP, MISTAKE_WRONG_APP)
    if failure_class is FailureClass.APP_BLOCKED:
        return (MISTAKE_BLOCK_DISABLES, MISTAKE_SSO_APP, MISTAKE_WRONG_APP)
    if failure_class is FailureClass.CONDITIONAL_ACCESS:
        return (MISTAKE_CA_NOT_CONSENT,)
    return ()


def _links(remedy: Remedy, ctx: _Context) -> tuple[Link, ...]:
    t = ctx.portal_tenant
    table: dict[Remedy, tuple[Link, ...]] = {
        Remedy.GRANT_ADMIN_CONSENT: (
            ctx.consent_link(),
            ctx.app("Permissions"),
            links.user_consent_settings_link(t),
            links.admin_consent_settings_link(t),
        ),
        Remedy.REVIEW_CONSENT_REQUEST: (
            links.admin_consent_requests_link(t),
            ctx.consent_link(),
            ctx.app("Permissions"),
        ),
        Remedy.REVIEW_RISKY_CONSENT: (ctx.consent_link(), ctx.app("Permissions")),
        Remedy.ASSIGN_USER: (ctx.app("Users"), ctx.app("Properties"), ctx.consent_link()),
        Remedy.ENABLE_SIGN_IN: (ctx.app("Properties"), ctx.consent_link()),
        Remedy.REVIEW_CONDITIONAL_ACCESS: (
            links.sign_in_logs_link(t),
            links.conditional_access_link(t),
        ),
        Remedy.CHECK_MAILBOX: (ctx.app("Permissions"),),
        Remedy.ASK_USER: (links.sign_in_logs_link(t),),
        Remedy.INVESTIGATE: (links.sign_in_logs_link(t), links.user_consent_settings_link(t)),
    }
    found = table.get(remedy, ())
    lookup = links.error_lookup_url(ctx.code) if ctx.code else None
    if lookup and remedy in _ADMIN_REMEDIES | {Remedy.INVESTIGATE, Remedy.ESCALATE}:
        found = (*found, Link(f"Microsoft's page for {ctx.code}", lookup, "error code lookup"))
    return found


def _shortcut(remedy: Remedy, ctx: _Context) -> str | None:
    if remedy in (Remedy.GRANT_ADMIN_CONSENT, Remedy.REVIEW_RISKY_CONSENT):
        return (
            f"Quickest fix: open {ctx.consent_link().url} signed in as a {GRANT_ROLE}, check "
            f'it names "{CRONOFY_APP_NAME}", and accept. It does the same as the steps below.'
        )
    if remedy is Remedy.REVIEW_CONSENT_REQUEST:
        return (
            f"Approving the request and opening {ctx.consent_link().url} as an admin have "
            "the same effect."
        )
    return None


def remediation_for(
    target: FailureClass | Classification,
    *,
    cause: Cause | None = None,
    tenant: str | None = None,
    tenant_name: str | None = None,
    users: Sequence[str] = (),
    correlation_id: str | None = None,
    sp_object_id: str | None = None,
) -> Remediation:
    """The fix for a failure class (or a classification, which also fixes the cause).

    ``tenant`` (GUID or domain) goes into the admin-consent link; ``tenant_name`` into the
    "Grant admin consent for …" button label; ``users`` are the affected people's e-mails;
    ``sp_object_id`` (the Cronofy app's object id in the tenant) enables direct page links.
    """
    code: str | None = None
    if isinstance(target, Classification):
        failure_class = target.failure_class
        cause = cause or target.cause
        code = target.code
    else:
        failure_class = FailureClass(target)
    info = CLASSES[failure_class]
    if cause is None or CAUSES[cause].failure_class is not failure_class:
        cause = info.default_cause
    cause_info = CAUSES[cause]
    remedy = cause_info.remedy
    people = [u for u in users if isinstance(u, str) and u.strip()]
    ctx = _Context(
        tenant=tenant,
        org=(tenant_name or "").strip() or "your organisation",
        people=", ".join(people) if people else "the affected people",
        sp_object_id=sp_object_id,
        correlation_id=correlation_id,
        code=code,
    )
    steps = tuple(
        Step(number, text, link)
        for number, (text, link) in enumerate(_steps_for(remedy, ctx), start=1)
    )
    admin = remedy in _ADMIN_REMEDIES
    consent = failure_class in (
        FailureClass.USER_CONSENT_BLOCKED,
        FailureClass.ADMIN_CONSENT_REQUIRED,
        FailureClass.USER_NOT_ASSIGNED,
    )
    role = {
        Remedy.REVIEW_CONDITIONAL_ACCESS: LOG_ROLE,
        Remedy.CHECK_MAILBOX: "User Administrator or License Administrator",
    }.get(remedy, GRANT_ROLE if admin else None)
    return Remediation(
        failure_class=failure_class,
        cause=cause,
        remedy=remedy,
        actor=cause_info.actor,
        consent_problem=info.consent_problem,
        title=info.title,
        diagnosis=info.diagnosis,
        cause_explanation=cause_info.explanation,
        shortcut=_shortcut(remedy, ctx),
        steps=steps,
        verify=_VERIFY.get(remedy, ()),
        links=_links(remedy, ctx),
        mistakes=_mistakes(failure_class, remedy),
        options=CONSENT_OPTIONS if consent and admin else (),
        if_still_failing=if_still_failing_text() if admin else (),
        tell_user=_TELL_USER[remedy],
        role=role,
        escalate=cause_info.escalate,
    )


def fresh_sign_in_record_request(*, fixed_at: str | None = None) -> str:
    """What to ask an admin for when someone fails again after a fix (guide step 9)."""
    since = f" after {fixed_at}" if fixed_at else " after your change"
    return (
        f"Someone still can't connect{since}. Please send a new failed sign-in record "
        f'from the sign-in logs (Application "{CRONOFY_APP_NAME}", Status Failure): '
        + "; ".join(NEW_SIGN_IN_RECORD_FIELDS)
        + ". The earlier record predates the fix, so it can't tell us what is wrong now."
    )
