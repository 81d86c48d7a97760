"""Microsoft's consent failures, acted out by the sandbox's sign-in page.

A tenant's policy is set with ``state.force_outcome("@contoso.com", "need_admin_approval")``
(or ``POST /_sandbox/outcomes``); when the admin grants consent for the tenant, force
``approve`` for the domain and people can connect again. The pages look like Microsoft's,
with the "More details" block people copy into chat.
"""

from __future__ import annotations

import html
import uuid
from typing import TYPE_CHECKING

from integrations.cronofy.sandbox.outcomes import (
    AuthorizeRequest,
    Page,
    Result,
    error_redirect,
    outcome,
)

if TYPE_CHECKING:
    from integrations.cronofy.sandbox.state import SandboxState

APP_NAME = "Cronofy for Office 365"
APP_ID = "f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd"

_FAILURES = {
    "need_admin_approval": (
        "Need admin approval",
        "AADSTS90094",
        "The grant requires admin permission.",
        f"{APP_NAME} needs permission to access resources in your organization that only an "
        "admin can grant. Please ask an admin to grant permission to this app before you can "
        "use it.",
    ),
    "app_blocked": (
        "This app is blocked",
        "AADSTS7000112",
        f"Application '{APP_ID}'({APP_NAME}) is disabled.",
        "This app has been blocked by your administrator. Contact your IT department.",
    ),
    "not_assigned": (
        "You can't get there from here",
        "AADSTS50105",
        "Your administrator has configured the application "
        f"{APP_NAME} ('{APP_ID}') to block users unless they are specifically granted "
        "('assigned') access to the application.",
        "Your account isn't assigned to this app. Ask your administrator for access.",
    ),
}


def _details(state: SandboxState, email: str, code: str, message: str) -> str:
    timestamp = state.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    return "\n".join(
        [
            f"Request Id: {uuid.uuid4()}",
            f"Correlation Id: {uuid.uuid4()}",
            f"Timestamp: {timestamp}",
            f"Message: {code}: {message}",
            f"App name: {APP_NAME}",
            f"App id: {APP_ID}",
            f"User account: {email}",
        ]
    )


def _page(state: SandboxState, request: AuthorizeRequest, email: str, kind: str) -> Page:
    title, code, message, explanation = _FAILURES[kind]
    details = _details(state, email, code, message)
    back = error_redirect(request, "access_denied").location
    logo = "".join(
        f'<i style="background:{colour}"></i>'
        for colour in ("#f25022", "#7fba00", "#00a4ef", "#ffb900")
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font:15px/1.5 "Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0;
  display:grid;place-items:center;min-height:100vh;color:#1b1b1b}}
main{{background:#fff;width:min(27rem,92vw);padding:2.5rem 2.75rem;
  box-shadow:0 2px 6px rgba(0,0,0,.2)}}
h1{{font-size:1.5rem;font-weight:600;margin:.75rem 0}}
pre{{background:#f7f7f7;padding:.75rem;white-space:pre-wrap;font-size:.8rem}}
a{{color:#0067b8}}
.logo{{display:grid;grid-template-columns:10px 10px;gap:2px;width:22px}}
.logo i{{height:10px}}
</style></head>
<body><main>
<div class="logo" aria-hidden="true">{logo}</div>
<p>{html.escape(email)}</p>
<h1 id="title">{html.escape(title)}</h1>
<p id="explanation">{html.escape(explanation)}</p>
<details open><summary>More details</summary>
<pre id="details">{html.escape(details)}</pre></details>
<p><a id="back" href="{html.escape(back)}">
Return to the application without granting consent</a></p>
</main></body></html>"""
    return Page(status=200, title=title, html=body, details=f"{title}\n{explanation}\n{details}")


@outcome("need_admin_approval")
def need_admin_approval(
    state: SandboxState, request: AuthorizeRequest, email: str, provider: str
) -> Result:
    return _page(state, request, email, "need_admin_approval")


@outcome("app_blocked")
def app_blocked(
    state: SandboxState, request: AuthorizeRequest, email: str, provider: str
) -> Result:
    return _page(state, request, email, "app_blocked")


@outcome("not_assigned")
def not_assigned(
    state: SandboxState, request: AuthorizeRequest, email: str, provider: str
) -> Result:
    return _page(state, request, email, "not_assigned")


def grant_admin_consent(state: SandboxState, domain: str) -> None:
    """The tenant admin approved the app: everyone in the domain can consent again."""
    state.force_outcome("@" + domain.lstrip("@").lower(), "approve")


__all__ = ["grant_admin_consent"]
