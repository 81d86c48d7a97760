"""Microsoft Entra consent knowledge for "Cronofy for Office 365".

Pure and table-driven (only ``tenants.OpenIdTenantDirectory`` touches the network):

- ``catalogue``   the app ids, failure classes, causes, AADSTS codes and page phrases
- ``parse``       ``parse_error_text`` for what people paste from Microsoft's error page
- ``classify``    ``classify`` from codes, phrases, button answers and OAuth errors
- ``remediation`` the steps, links, common mistakes and consent options per class
- ``links``       the admin-consent URL and Entra admin center pages
- ``tenants``     e-mail domain → tenant (OpenID discovery, cached, never fails)
- ``support``     the support checklist, pre-filled
"""

from integrations.entra.catalogue import (
    CAUSES,
    CLASSES,
    CODES,
    CONSUMER_TENANT_ID,
    CRONOFY_APP_ID,
    CRONOFY_APP_NAME,
    CRONOFY_PERMISSIONS,
    OTHER_CRONOFY_APPS,
    PHRASES,
    Actor,
    Cause,
    CauseInfo,
    ClassInfo,
    CodeInfo,
    FailureClass,
    Phrase,
    Remedy,
    lookup_code,
    normalise_code,
)
from integrations.entra.classify import (
    ButtonChoice,
    Classification,
    Confidence,
    classify,
    normalise_button,
)
from integrations.entra.links import (
    Link,
    admin_consent_link,
    admin_consent_requests_url,
    admin_consent_settings_url,
    admin_consent_url,
    app_blade_url,
    conditional_access_url,
    enterprise_apps_url,
    error_lookup_url,
    sign_in_logs_url,
    tenant_segment,
    user_consent_settings_url,
)
from integrations.entra.parse import MAX_INPUT_CHARS, ParsedError, parse_error_text, parse_timestamp
from integrations.entra.remediation import (
    CONSENT_OPTIONS,
    NEW_SIGN_IN_RECORD_FIELDS,
    ConsentOption,
    Remediation,
    Step,
    fresh_sign_in_record_request,
    if_still_failing_text,
    remediation_for,
)
from integrations.entra.support import Attempt, format_time, support_checklist
from integrations.entra.tenants import (
    FakeTenantDirectory,
    OpenIdTenantDirectory,
    TenantDirectory,
    TenantInfo,
    normalise_domain,
    tenant_from_discovery,
)

__all__ = [
    "CAUSES",
    "CLASSES",
    "CODES",
    "CONSENT_OPTIONS",
    "CONSUMER_TENANT_ID",
    "CRONOFY_APP_ID",
    "CRONOFY_APP_NAME",
    "CRONOFY_PERMISSIONS",
    "MAX_INPUT_CHARS",
    "NEW_SIGN_IN_RECORD_FIELDS",
    "OTHER_CRONOFY_APPS",
    "PHRASES",
    "Actor",
    "Attempt",
    "ButtonChoice",
    "Cause",
    "CauseInfo",
    "ClassInfo",
    "Classification",
    "CodeInfo",
    "Confidence",
    "ConsentOption",
    "FailureClass",
    "FakeTenantDirectory",
    "Link",
    "OpenIdTenantDirectory",
    "ParsedError",
    "Phrase",
    "Remediation",
    "Remedy",
    "Step",
    "TenantDirectory",
    "TenantInfo",
    "admin_consent_link",
    "admin_consent_requests_url",
    "admin_consent_settings_url",
    "admin_consent_url",
    "app_blade_url",
    "classify",
    "conditional_access_url",
    "enterprise_apps_url",
    "error_lookup_url",
    "format_time",
    "fresh_sign_in_record_request",
    "if_still_failing_text",
    "lookup_code",
    "normalise_button",
    "normalise_code",
    "normalise_domain",
    "parse_error_text",
    "parse_timestamp",
    "remediation_for",
    "sign_in_logs_url",
    "support_checklist",
    "tenant_from_discovery",
    "tenant_segment",
    "user_consent_settings_url",
]
