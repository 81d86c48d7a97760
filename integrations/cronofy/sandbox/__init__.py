"""A local stand-in for the parts of Cronofy calbot uses (OAuth, identity, channels,
availability, free/busy and event writes).

``create_sandbox_app`` builds the aiohttp app; ``start_sandbox`` serves it on a real port.
Tests and the demo drive it through ``/_sandbox/*`` or the ``SandboxState`` methods.
"""

from integrations.cronofy.sandbox import consent as consent  # registers the failure pages
from integrations.cronofy.sandbox.outcomes import OUTCOMES, Page, Redirect, outcome
from integrations.cronofy.sandbox.server import RunningSandbox, create_sandbox_app, start_sandbox
from integrations.cronofy.sandbox.state import STATE_KEY, OAuthError, SandboxState

__all__ = [
    "OUTCOMES",
    "STATE_KEY",
    "OAuthError",
    "Page",
    "Redirect",
    "RunningSandbox",
    "SandboxState",
    "create_sandbox_app",
    "outcome",
    "start_sandbox",
]
