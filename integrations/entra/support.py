"""The support package from the admin guide, filled in with what calbot knows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.entra.catalogue import CLASSES, CRONOFY_APP_ID, CRONOFY_APP_NAME, FailureClass
from integrations.entra.remediation import NEW_SIGN_IN_RECORD_FIELDS

MISSING = "(not known yet, please add)"


@dataclass(frozen=True)
class Attempt:
    """One failed attempt to connect."""

    user_email: str
    at: datetime | None = None
    code: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None


def _zone(value: str | tzinfo | None) -> tzinfo | None:
    if value is None or isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def format_time(at: datetime, tz: str | tzinfo | None = None) -> str:
    """``2026-11-27 09:12:44 UTC (10:12:44 CET, Europe/Berlin)``; naive times count as UTC."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    text = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    zone = _zone(tz)
    if zone is not None:
        local = aware.astimezone(zone)
        label = getattr(zone, "key", None) or local.tzname() or ""
        text += f" ({local.strftime('%Y-%m-%d %H:%M:%S')} {local.tzname()}, {label})"
    return text


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))


def support_checklist(
    *,
    tenant_domain: str | None,
    attempts: Sequence[Attempt] = (),
    anyone_connected: bool | None = None,
    tenant_id: str | None = None,
    timezone: str | tzinfo | None = None,
    failure_class: FailureClass | None = None,
    consent_option: str | None = None,
) -> str:
    """Plain text, ready to paste into a support request.

    ``timezone`` is the reader's zone: times are shown in UTC and in that zone.
    ``anyone_connected``: has anyone in the tenant connected successfully (``None`` =
    calbot doesn't know).
    """
    ordered = sorted(attempts, key=lambda a: (a.at is None, _utc(a.at)))
    emails = _unique(a.user_email for a in ordered)
    codes = _unique(a.code for a in ordered)
    correlations = _unique(a.correlation_id for a in ordered)
    requests = _unique(a.request_id for a in ordered)

    tenant = (tenant_domain or "").strip() or MISSING
    if tenant_id and tenant_id.strip() and tenant_id.strip() != tenant:
        tenant += f" (tenant ID {tenant_id.strip()})"

    lines = [
        f"Support checklist: Microsoft 365 calendar connection through {CRONOFY_APP_NAME}",
        f"Entra application: {CRONOFY_APP_NAME}, Application ID {CRONOFY_APP_ID}",
    ]
    if failure_class is not None:
        lines.append(f"calbot's diagnosis: {CLASSES[failure_class].title}")
    lines += [
        "",
        "1. Screenshot of Microsoft's error screen: please attach one, with names and "
        "e-mail addresses blacked out.",
        f"2. Microsoft 365 tenant domain: {tenant}",
        "3. Attempted connections (UTC"
        + (", and your time zone" if _zone(timezone) is not None else "")
        + "):",
    ]
    if ordered:
        for attempt in ordered:
            when = format_time(attempt.at, timezone) if attempt.at else "time unknown"
            parts = [when, attempt.user_email.strip() or "user unknown"]
            if attempt.code:
                parts.append(attempt.code)
            if attempt.correlation_id:
                parts.append(f"correlation ID {attempt.correlation_id}")
            if attempt.request_id:
                parts.append(f"request ID {attempt.request_id}")
            lines.append("   - " + " | ".join(parts))
    else:
        lines.append(f"   {MISSING}")
    connected = {True: "Yes", False: "No, nobody so far", None: MISSING}[anyone_connected]
    lines += [
        f"4. User e-mail(s) that attempted to connect: {', '.join(emails) or MISSING}",
        f"5. Has anyone in the tenant connected successfully? {connected}",
        f"6. Error code(s): {', '.join(codes) or MISSING}",
        f"7. Correlation ID(s): {', '.join(correlations) or MISSING}",
    ]
    if requests:
        lines.append(f"8. Request ID(s): {', '.join(requests)}")
    lines += [
        "",
        "Also helpful:",
        "- Consent option in use (A: users may consent, B: admin consent workflow, "
        f"C: assignment required): {consent_option or MISSING}",
        '- Current "Assignment required?" and "Enabled for users to sign in?" values of '
        f"{CRONOFY_APP_NAME} (Manage → Properties).",
        "- If you changed anything in Entra, a NEW failed sign-in record from after the "
        f"change: {'; '.join(NEW_SIGN_IN_RECORD_FIELDS)}.",
    ]
    return "\n".join(lines)


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
