from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.entra import (
    CRONOFY_APP_ID,
    admin_consent_link,
    admin_consent_url,
    app_blade_url,
    enterprise_apps_url,
    error_lookup_url,
    sign_in_logs_url,
    tenant_segment,
    user_consent_settings_url,
)

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_admin_consent_url_by_domain() -> None:
    assert admin_consent_url("contoso.com") == (
        "https://login.microsoftonline.com/contoso.com/adminconsent"
        "?client_id=f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd"
    )


def test_admin_consent_url_by_tenant_id_and_state() -> None:
    url = admin_consent_url(TENANT_ID.upper(), state="incident-7")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "login.microsoftonline.com",
        f"/{TENANT_ID}/adminconsent",
    )
    assert parse_qs(parts.query) == {"client_id": [CRONOFY_APP_ID], "state": ["incident-7"]}
    assert "/v2.0/" not in url and "scope=" not in url


@pytest.mark.parametrize(
    ("tenant", "segment"),
    [
        ("Contoso.COM.", "contoso.com"),
        ("alice@Contoso.com", "contoso.com"),
        ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        (None, "organizations"),
        ("", "organizations"),
        ("common", "organizations"),
        ("consumers", "organizations"),
        ("organizations", "organizations"),
        ("evil.com/../x?y", "organizations"),
        ("a b.com", "organizations"),
    ],
)
def test_tenant_segment(tenant: str | None, segment: str) -> None:
    assert tenant_segment(tenant) == segment


def test_unknown_tenant_falls_back_to_organizations() -> None:
    assert admin_consent_url(None).startswith(
        "https://login.microsoftonline.com/organizations/adminconsent?client_id="
    )


def test_admin_consent_link_has_click_path() -> None:
    link = admin_consent_link("contoso.com")
    assert link.documented
    assert "Grant admin consent" in link.click_path
    assert link.url == admin_consent_url("contoso.com")


def test_portal_links() -> None:
    assert enterprise_apps_url().startswith("https://entra.microsoft.com/#view/")
    assert user_consent_settings_url().endswith("ConsentPoliciesMenuBlade/~/UserSettings")
    assert sign_in_logs_url().endswith("SignInLogsList.ReactView")
    assert enterprise_apps_url("contoso.com").startswith(
        "https://entra.microsoft.com/contoso.com/#view/"
    )


def test_app_blade_needs_the_object_id() -> None:
    object_id = "11111111-2222-3333-4444-555555555555"
    url = app_blade_url("Permissions", object_id)
    assert url == (
        "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Permissions"
        f"/objectId/{object_id}/appId/{CRONOFY_APP_ID}"
    )
    assert app_blade_url("Permissions", "not-a-guid") is None
    assert app_blade_url("Nope", object_id) is None


def test_error_lookup_url() -> None:
    assert error_lookup_url("AADSTS90094") == "https://login.microsoftonline.com/error?code=90094"
    assert error_lookup_url("junk") is None
