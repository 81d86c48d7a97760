"""Links an Entra admin can click: the admin-consent URL and admin-center pages.

The admin-consent URL is documented by Microsoft. The admin-center URLs live in the part
after ``#``, which no server checks: a renamed blade fails silently. So every portal link
comes with its click path, and is marked ``documented=False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from integrations.entra.catalogue import CRONOFY_APP_ID, normalise_code

LOGIN_BASE_URL = "https://login.microsoftonline.com"
ENTRA_ADMIN_CENTER = "https://entra.microsoft.com"
MY_SIGN_INS_URL = "https://mysignins.microsoft.com"
MY_SECURITY_INFO_URL = "https://mysignins.microsoft.com/security-info"

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DOMAIN = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}"
)
#: Placeholders that mean "the signing-in admin's own organisation".
ORGANIZATIONS = "organizations"


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    #: How to get there by hand, always shown next to the URL.
    click_path: str = ""
    #: ``True`` for URLs Microsoft documents; portal ``#view/…`` links are not.
    documented: bool = True


def tenant_segment(tenant: str | None) -> str:
    """A tenant GUID or verified domain, lower-cased; anything else → ``organizations``.

    ``common`` and ``consumers`` are refused: admin consent needs a work tenant.
    """
    if not isinstance(tenant, str):
        return ORGANIZATIONS
    value = tenant.strip().lower().rstrip(".")
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if not value.isascii():
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            return ORGANIZATIONS
    if _GUID.fullmatch(value) or _DOMAIN.fullmatch(value):
        return value
    return ORGANIZATIONS


def admin_consent_url(
    tenant: str | None = None, *, state: str | None = None, client_id: str = CRONOFY_APP_ID
) -> str:
    """Tenant-wide admin consent for "Cronofy for Office 365".

    ``https://login.microsoftonline.com/{tenant}/adminconsent?client_id=f573e3d3-…``, where
    ``tenant`` is a tenant GUID or one of its verified domains (an e-mail address is cut to
    its domain). Unknown → ``organizations`` (the admin's home tenant). The v2.0 form is
    not generated: it needs a ``redirect_uri`` registered on Cronofy's app.
    """
    query: dict[str, str] = {"client_id": client_id}
    if state:
        query["state"] = state
    return (
        f"{LOGIN_BASE_URL}/{quote(tenant_segment(tenant), safe='')}/adminconsent?{urlencode(query)}"
    )


def error_lookup_url(code: str | int) -> str | None:
    """Microsoft's lookup page for an AADSTS code (for admins, not end users)."""
    normal = normalise_code(code)
    if normal is None:
        return None
    return f"{LOGIN_BASE_URL}/error?code={normal.removeprefix('AADSTS')}"


def _portal(fragment: str, tenant_domain: str | None) -> str:
    segment = tenant_segment(tenant_domain) if tenant_domain else None
    pin = f"/{segment}" if segment and segment != ORGANIZATIONS else ""
    return f"{ENTRA_ADMIN_CENTER}{pin}/#view/{fragment}"


def enterprise_apps_url(tenant_domain: str | None = None) -> str:
    return _portal(
        "Microsoft_AAD_IAM/StartboardApplicationsMenuBlade/~/AppAppsPreview", tenant_domain
    )


def admin_consent_requests_url(tenant_domain: str | None = None) -> str:
    return _portal(
        "Microsoft_AAD_IAM/StartboardApplicationsMenuBlade/~/AccessRequests", tenant_domain
    )


def user_consent_settings_url(tenant_domain: str | None = None) -> str:
    return _portal("Microsoft_AAD_IAM/ConsentPoliciesMenuBlade/~/UserSettings", tenant_domain)


def admin_consent_settings_url(tenant_domain: str | None = None) -> str:
    return _portal(
        "Microsoft_AAD_IAM/ConsentPoliciesMenuBlade/~/AdminConsentSettings", tenant_domain
    )


def sign_in_logs_url(tenant_domain: str | None = None) -> str:
    return _portal("Microsoft_AAD_IAM/SignInLogsList.ReactView", tenant_domain)


def conditional_access_url(tenant_domain: str | None = None) -> str:
    return _portal(
        "Microsoft_AAD_ConditionalAccess/ConditionalAccessBlade/~/Policies", tenant_domain
    )


APP_BLADES = ("Overview", "Permissions", "Users", "Properties")


def app_blade_url(
    blade: str, sp_object_id: str, *, app_id: str = CRONOFY_APP_ID, tenant_domain: str | None = None
) -> str | None:
    """A page of the Cronofy enterprise app. Needs the tenant's service-principal object id,
    which calbot only knows if an admin told it; otherwise ``None``."""
    object_id = sp_object_id.strip().lower() if isinstance(sp_object_id, str) else ""
    if blade not in APP_BLADES or not _GUID.fullmatch(object_id):
        return None
    return _portal(
        f"Microsoft_AAD_IAM/ManagedAppMenuBlade/~/{blade}/objectId/{object_id}/appId/{app_id}",
        tenant_domain,
    )


# --------------------------------------------------------------------------- Link objects

PATH_ENTERPRISE_APPS = "Entra admin center → Enterprise applications → All applications"
PATH_APP = f'{PATH_ENTERPRISE_APPS} → search "Cronofy for Office 365"'


def admin_consent_link(tenant: str | None = None, *, state: str | None = None) -> Link:
    return Link(
        "Approve Cronofy for your organisation (one click)",
        admin_consent_url(tenant, state=state),
        f"or: {PATH_APP} → Security → Permissions → Grant admin consent",
    )


def enterprise_apps_link(tenant_domain: str | None = None) -> Link:
    return Link(
        "Enterprise applications", enterprise_apps_url(tenant_domain), PATH_ENTERPRISE_APPS, False
    )


def app_link(blade: str, sp_object_id: str | None, tenant_domain: str | None = None) -> Link:
    """A page of the Cronofy app; without the object id, the app list plus a click path."""
    paths = {
        "Overview": "Overview",
        "Permissions": "Security → Permissions",
        "Users": "Manage → Users and groups",
        "Properties": "Manage → Properties",
    }
    click = f"{PATH_APP} → {paths.get(blade, blade)}"
    url = app_blade_url(blade, sp_object_id, tenant_domain=tenant_domain) if sp_object_id else None
    return Link(
        f"Cronofy for Office 365 → {paths.get(blade, blade)}",
        url or enterprise_apps_url(tenant_domain),
        click,
        False,
    )


def user_consent_settings_link(tenant_domain: str | None = None) -> Link:
    return Link(
        "User consent settings",
        user_consent_settings_url(tenant_domain),
        "Enterprise applications → Consent and permissions → User consent settings",
        False,
    )


def admin_consent_settings_link(tenant_domain: str | None = None) -> Link:
    return Link(
        "Admin consent settings (approval workflow)",
        admin_consent_settings_url(tenant_domain),
        "Enterprise applications → Consent and permissions → Admin consent settings",
        False,
    )


def admin_consent_requests_link(tenant_domain: str | None = None) -> Link:
    return Link(
        "Admin consent requests",
        admin_consent_requests_url(tenant_domain),
        "Enterprise applications → Activity → Admin consent requests → My Pending",
        False,
    )


def sign_in_logs_link(tenant_domain: str | None = None) -> Link:
    return Link(
        "Sign-in logs",
        sign_in_logs_url(tenant_domain),
        "Entra admin center → Monitoring & health → Sign-in logs",
        False,
    )


def conditional_access_link(tenant_domain: str | None = None) -> Link:
    return Link(
        "Conditional Access policies",
        conditional_access_url(tenant_domain),
        "Entra admin center → Protection → Conditional Access → Policies",
        False,
    )
