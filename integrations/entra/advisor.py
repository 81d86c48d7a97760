"""The core's ConsentAdvisor and TenantDirectory ports, backed by this package."""

from __future__ import annotations

from bot.ports import Diagnosis, Evidence, FailedAttempt, Remedy, Tenant
from integrations.entra.catalogue import Actor, FailureClass
from integrations.entra.classify import classify
from integrations.entra.links import admin_consent_url
from integrations.entra.parse import parse_error_text
from integrations.entra.remediation import CONSENT_OPTIONS, remediation_for
from integrations.entra.support import Attempt, support_checklist
from integrations.entra.tenants import TenantDirectory

_WHO = {Actor.USER: "user", Actor.TENANT_ADMIN: "tenant_admin", Actor.NOBODY: "nobody"}


class EntraAdvisor:
    def parse(self, text: str) -> Evidence:
        parsed = parse_error_text(text)
        return Evidence(
            codes=parsed.codes,
            primary_code=parsed.primary_code,
            request_id=parsed.request_id,
            correlation_id=parsed.correlation_id,
            timestamp=parsed.timestamp,
            message=parsed.message or (parsed.phrases[0] if parsed.phrases else None),
        )

    def diagnose(
        self,
        *,
        text: str | None = None,
        oauth_error: str | None = None,
        error_description: str | None = None,
        answer: str | None = None,
        stalled: bool = False,
    ) -> Diagnosis:
        result = classify(
            parse_error_text(text) if text else None,
            oauth_error=oauth_error,
            error_description=error_description,
            button_choice=answer,
            stalled=stalled,
        )
        return Diagnosis(
            failure_class=result.failure_class.value,
            title=result.title,
            who_acts=_WHO.get(result.actor, "nobody"),
            consent_problem=result.consent_problem,
            confidence=result.confidence.value,
            evidence=result.evidence,
            code=result.code,
            ambiguous=result.ambiguous,
        )

    def remedy(self, failure_class: str, *, tenant: str | None, users: tuple[str, ...]) -> Remedy:
        fix = remediation_for(_class(failure_class), tenant=tenant, users=users)
        return Remedy(
            title=fix.title,
            diagnosis=fix.diagnosis,
            cause=fix.cause_explanation,
            steps=tuple((step.text, step.link.url if step.link else None) for step in fix.steps),
            verify=fix.verify,
            mistakes=fix.mistakes,
            options=tuple((o.letter, o.title, o.summary) for o in fix.options),
            if_still_failing=fix.if_still_failing,
            tell_user=fix.tell_user,
            admin_consent_url=admin_consent_url(tenant),
        )

    def admin_consent_url(self, tenant: str | None) -> str:
        return admin_consent_url(tenant)

    def consent_options(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((o.letter, o.title, o.summary) for o in CONSENT_OPTIONS)

    def support_checklist(
        self,
        *,
        tenant_domain: str | None,
        tenant_id: str | None,
        attempts: list[FailedAttempt],
        anyone_connected: bool | None,
        timezone: str | None,
        failure_class: str | None,
        consent_option: str | None,
    ) -> str:
        return support_checklist(
            tenant_domain=tenant_domain,
            tenant_id=tenant_id,
            attempts=[
                Attempt(a.user_email, a.at, a.code, a.correlation_id, a.request_id)
                for a in attempts
            ],
            anyone_connected=anyone_connected,
            timezone=timezone,
            failure_class=_class(failure_class) if failure_class else None,
            consent_option=consent_option,
        )


class TenantLookup:
    """Adapts this package's directory (OpenID discovery or a fake) to the core's port."""

    def __init__(self, directory: TenantDirectory) -> None:
        self._directory = directory

    async def lookup(self, domain_or_email: str) -> Tenant:
        info = await self._directory.lookup(domain_or_email)
        return Tenant(tenant=info.tenant, domain=info.domain, resolved=info.resolved)


def _class(value: str) -> FailureClass:
    try:
        return FailureClass(value)
    except ValueError:
        return FailureClass.UNKNOWN


__all__ = ["EntraAdvisor", "TenantLookup"]
