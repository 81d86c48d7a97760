"""What happens when someone answers the sandbox's consent page.

Each outcome is registered by name in ``OUTCOMES``; the form's ``decision`` field and
``POST /_sandbox/approve`` pick one. An outcome returns either a redirect back to the
client or a page shown instead (as Microsoft does for "Need admin approval"), so new
consent failures are added by registering a function, without touching the handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from integrations.cronofy.sandbox.state import SandboxState

# Query parameters the consent form carries through as hidden fields.
PASSTHROUGH = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "avoid_linking",
    "provider_name",
    "login_hint",
    "link_token",
    "locale",
)


class AuthorizeRejected(Exception):
    """The request is so wrong that the user must not be sent back (RFC 6749 §4.1.2.1)."""


@dataclass(frozen=True)
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    response_type: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return "google" if self.params.get("provider_name") == "google" else "office365"

    @property
    def login_hint(self) -> str:
        return self.params.get("login_hint", "")


def parse_request(params: Mapping[str, str], state: SandboxState) -> AuthorizeRequest:
    client_id = params.get("client_id", "")
    if client_id != state.client_id:
        raise AuthorizeRejected("Unknown client_id.")
    redirect_uri = params.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise AuthorizeRejected("Missing or invalid redirect_uri.")
    return AuthorizeRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=params.get("scope", ""),
        state=params.get("state"),
        response_type=params.get("response_type", ""),
        params={k: params[k] for k in PASSTHROUGH if k in params},
    )


def parse_url(authorize_url: str, state: SandboxState) -> AuthorizeRequest:
    return parse_request(dict(parse_qsl(urlsplit(authorize_url).query)), state)


def with_query(url: str, **params: str | None) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass(frozen=True)
class Page:
    """A page shown instead of a redirect (the user stays on the provider's side)."""

    status: int
    title: str
    html: str
    # The page's text as a person would copy it (title, explanation, "More details").
    details: str = ""


Result = Redirect | Page
Outcome = Callable[["SandboxState", AuthorizeRequest, str, str], Result]

OUTCOMES: dict[str, Outcome] = {}


def outcome(name: str) -> Callable[[Outcome], Outcome]:
    def register(func: Outcome) -> Outcome:
        OUTCOMES[name] = func
        return func

    return register


def error_redirect(request: AuthorizeRequest, error: str) -> Redirect:
    return Redirect(with_query(request.redirect_uri, error=error, state=request.state))


@outcome("approve")
def approve(state: SandboxState, request: AuthorizeRequest, email: str, provider: str) -> Result:
    user = state.ensure_user(email, provider)
    code = state.issue_code(user=user, redirect_uri=request.redirect_uri, scope=request.scope)
    return Redirect(with_query(request.redirect_uri, code=code, state=request.state))


@outcome("cancel")
def cancel(state: SandboxState, request: AuthorizeRequest, email: str, provider: str) -> Result:
    return error_redirect(request, "access_denied")


class UnknownDecision(Exception):
    pass


def decide(
    state: SandboxState,
    request: AuthorizeRequest,
    *,
    email: str,
    decision: str,
    provider: str | None = None,
) -> Result:
    """Run the outcome for a decision; raises UnknownDecision, ValueError (bad e-mail)."""
    if request.response_type != "code":
        return error_redirect(request, "unsupported_response_type")
    if decision == "approve":
        if "@" not in email:
            raise ValueError("an e-mail address is needed to sign in")
        # A forced outcome stands in for the tenant's policy, which the user cannot bypass.
        decision = state.forced_outcome_for(email) or decision
    handler = OUTCOMES.get(decision)
    if handler is None:
        raise UnknownDecision(decision)
    return handler(state, request, email.strip().lower(), provider or request.provider)
