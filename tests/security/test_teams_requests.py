"""`POST /api/messages` with credentials configured: only Bot Framework's tokens get in.

How botbuilder 4.17 authenticates an inbound activity, and what that means for
`serviceUrl` (read from botframework/connector/auth, the code these tests drive):

1. `JwtTokenValidation.authenticate_request` requires `Authorization: Bearer <jwt>`
   whenever an app id is configured (no header → `PermissionError`).
2. For Teams (public cloud) the token must be issued by `https://api.botframework.com`
   (other issuers are dropped before any key is fetched), be RS256-signed by a key
   from Bot Framework's OpenID metadata (`login.botframework.com`, cached for a day;
   an unknown `kid` fails), be unexpired (5 min leeway), be endorsed for the activity's
   channel, and carry our app id as `aud`.
3. `ChannelValidation.authenticate_channel_token_with_service_url` then requires the
   token's `serviceurl` claim to equal the activity's `serviceUrl`. So after
   validation the SDK *trusts* `serviceUrl` — but only because Bot Framework signed it:
   a caller can't point our outbound calls (which carry our app's access token) at a
   host of its choosing without a token Bot Framework issued for that host. The old
   `trust_service_url` allow-list is a no-op in 4.17 ("not a required part of the
   security model").
4. calbot's route (integrations/teams/route.py) authenticates before anything else,
   including the duplicate check, so an unauthenticated caller can't burn activity ids.
   The outbound gateway only sends to addresses stored from activities that passed
   this check, never to a URL named in a button value or a command.

The tests publish a signing key of their own in place of Bot Framework's metadata (the
SDK's per-URL metadata cache is seeded, so no network is used), which lets them sign
tokens that differ from a valid one in exactly one way. Outbound tokens are stubbed the
same way (`MicrosoftAppCredentials.get_access_token`), so a reply can be observed.
In local mode (no MICROSOFT_APP_ID) none of this applies: every activity and its
`serviceUrl` are trusted, which is why start-up warns about it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from botframework.connector.auth import AuthenticationConstants, MicrosoftAppCredentials
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.mock_connector import MockConnector
from tests.integrations.teams.conftest import (
    ALICE_AAD,
    ALICE_TEAMS_ID,
    PERSONAL_CHAT,
    TENANT,
    TeamsHarness,
    start_harness,
)
from tests.security.support import changed_tables, db_snapshot

APP_ID = "11111111-2222-3333-4444-555555555555"
ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
METADATA_URL = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
KID = "calbot-test-signing-key"
OUTBOUND_TOKEN = "outbound-access-token-for-tests"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


PUBLISHED = _rsa_key()  # stands in for Bot Framework's signing key
STRANGER = _rsa_key()  # anybody else's key


@pytest.fixture
def bot_framework_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve PUBLISHED as Bot Framework's only signing key, endorsed for msteams."""
    jwk = json.loads(RSAAlgorithm.to_jwk(PUBLISHED.public_key()))
    metadata = _OpenIdMetadata(METADATA_URL)
    metadata.keys = [jwk | {"kid": KID, "endorsements": ["msteams"]}]
    metadata.last_updated = datetime.now()
    monkeypatch.setitem(JwtTokenExtractor.metadataCache, METADATA_URL, metadata)

    def no_network(self: MicrosoftAppCredentials, force_refresh: bool = False) -> str:
        return OUTBOUND_TOKEN

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", no_network)


def token(
    service_url: str,
    *,
    key: rsa.RSAPrivateKey = PUBLISHED,
    kid: str = KID,
    **claims: Any,
) -> str:
    """A Bot Framework channel token; each keyword overrides one claim."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": APP_ID,
        "serviceurl": service_url,
        "nbf": now - 60,
        "exp": now + 3600,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def connector() -> AsyncIterator[MockConnector]:
    """The real Bot Connector (as in tests/integrations/teams), with Alice in it."""
    async with MockConnector() as fake:
        fake.add_member(
            ALICE_TEAMS_ID,
            name="Alice Example",
            aad_object_id=ALICE_AAD,
            email="alice@contoso.com",
            tenant_id=TENANT,
            conversation_id=PERSONAL_CHAT,
        )
        yield fake


@pytest.fixture
async def hostile() -> AsyncIterator[MockConnector]:
    """A second connector standing in for a host an attacker controls."""
    async with MockConnector() as fake:
        yield fake


@pytest.fixture
async def secured(
    tmp_path: Path, connector: MockConnector, bot_framework_keys: None
) -> AsyncIterator[TeamsHarness]:
    runtime, client = await start_harness(
        tmp_path,
        connector,
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD="not-a-real-password",
    )
    try:
        yield TeamsHarness(runtime, client, connector)
    finally:
        await client.close()
        await runtime.close()


async def _refused(
    teams: TeamsHarness, activity: dict[str, Any], authorization: str | None
) -> None:
    before = await db_snapshot(teams.runtime.engine)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await teams.post(activity, **headers)
    assert response.status == 401, await response.text()
    await teams.runtime.outbox.drain()
    assert changed_tables(before, await db_snapshot(teams.runtime.engine)) == {}
    assert teams.connector.calls == []


def _message(teams: TeamsHarness, text: str = "help", **overrides: Any) -> dict[str, Any]:
    return teams.activity("message_personal", text=text, **overrides)


def _replies(teams: TeamsHarness) -> list[Any]:
    return [c for c in teams.connector.calls if c.route in ("reply", "send")]


# --- tokens that are wrong in exactly one way ----------------------------------------------


async def test_control_a_valid_token_is_accepted_and_the_reply_carries_our_token(
    secured: TeamsHarness,
) -> None:
    """Without this, every 401 below could be the harness failing, not the check."""
    activity = _message(secured)
    response = await secured.post(activity, Authorization=f"Bearer {token(secured.connector.url)}")
    assert response.status in (200, 201), await response.text()
    # A member lookup and the reply, both to the validated serviceUrl with our token.
    assert any(c.route in ("reply", "send") for c in secured.connector.calls)
    assert {c.authorization for c in secured.connector.calls} == {f"Bearer {OUTBOUND_TOKEN}"}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda url: token(url, key=STRANGER), id="signed-by-another-key"),
        pytest.param(lambda url: token(url, kid="unknown-kid"), id="unknown-key-id"),
        pytest.param(lambda url: token(url, aud="someone-elses-app-id"), id="wrong-audience"),
        pytest.param(lambda url: token(url, aud=None), id="no-audience"),
        pytest.param(lambda url: token(url, iss="https://sts.windows.net/x/"), id="wrong-issuer"),
        pytest.param(
            lambda url: token(url, exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200),
            id="expired",
        ),
        pytest.param(lambda url: token(url, serviceurl=None), id="no-serviceurl-claim"),
        pytest.param(
            lambda url: jwt.encode(
                {"iss": ISSUER, "aud": APP_ID, "serviceurl": url}, "", algorithm="none"
            ),
            id="alg-none",
        ),
        pytest.param(
            lambda url: jwt.encode(
                {"iss": ISSUER, "aud": APP_ID, "serviceurl": url},
                "k" * 32,
                algorithm="HS256",
                headers={"kid": KID},
            ),
            id="hs256-with-the-published-kid",
        ),
    ],
)
async def test_a_token_wrong_in_one_way_is_401_and_nothing_is_processed(
    secured: TeamsHarness, make: Callable[[str], str]
) -> None:
    await _refused(secured, _message(secured), f"Bearer {make(secured.connector.url)}")


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "bearer {ok}", "Basic {ok}", "Bearer {ok} extra", "{ok}"],
)
async def test_malformed_authorization_headers_are_401(secured: TeamsHarness, header: str) -> None:
    good = token(secured.connector.url)
    await _refused(secured, _message(secured), header.format(ok=good))


# --- serviceUrl --------------------------------------------------------------------------------


async def test_hostile_service_url_without_a_token_gets_no_call(
    secured: TeamsHarness, hostile: MockConnector
) -> None:
    activity = _message(secured, serviceUrl=hostile.url)
    for authorization in (None, "Bearer garbage"):
        await _refused(secured, activity, authorization)
    assert hostile.calls == []


async def test_a_valid_token_for_another_service_url_is_refused(
    secured: TeamsHarness, hostile: MockConnector
) -> None:
    """A genuine token (signed, our audience) lifted from another request can't redirect
    the reply: the signed `serviceurl` claim must match the activity's `serviceUrl`."""
    activity = _message(secured, serviceUrl=hostile.url)
    await _refused(secured, activity, f"Bearer {token(secured.connector.url)}")
    assert hostile.calls == []


async def test_proactive_messages_go_to_the_stored_address_only(
    secured: TeamsHarness, hostile: MockConnector
) -> None:
    """Alice's address is stored from her authenticated message; a later refused activity
    naming a hostile serviceUrl for her changes nothing, so her connect DM (sent by the
    outbox, with our outbound token) still goes to the real connector."""
    first = await secured.post(
        _message(secured, "help"), Authorization=f"Bearer {token(secured.connector.url)}"
    )
    assert first.status in (200, 201)
    await _refused_keep_calls(secured, _message(secured, "connect", serviceUrl=hostile.url))
    connect = await secured.post(
        _message(secured, "connect"), Authorization=f"Bearer {token(secured.connector.url)}"
    )
    assert connect.status in (200, 201)
    await secured.runtime.outbox.drain()
    assert hostile.calls == []
    link_dms = [c for c in secured.connector.calls if "/connect/" in json.dumps(c.body)]
    assert link_dms and all(c.authorization == f"Bearer {OUTBOUND_TOKEN}" for c in link_dms)


async def _refused_keep_calls(teams: TeamsHarness, activity: dict[str, Any]) -> None:
    before = await db_snapshot(teams.runtime.engine)
    calls = len(teams.connector.calls)
    response = await teams.post(activity, Authorization="Bearer garbage")
    assert response.status == 401
    assert changed_tables(before, await db_snapshot(teams.runtime.engine)) == {}
    assert len(teams.connector.calls) == calls


# --- duplicates ----------------------------------------------------------------------------


async def test_authenticated_duplicates_are_processed_once(secured: TeamsHarness) -> None:
    activity = _message(secured, "help")
    auth = f"Bearer {token(secured.connector.url)}"
    statuses = [(await secured.post(activity, Authorization=auth)).status for _ in range(3)]
    assert statuses[0] in (200, 201) and statuses[1:] == [201, 201]
    assert len(_replies(secured)) == 1


async def test_an_unauthenticated_copy_does_not_burn_the_activity_id(
    secured: TeamsHarness,
) -> None:
    """Dedupe runs after authentication: a forged copy sent first can't make calbot drop
    the genuine activity as a "duplicate"."""
    activity = _message(secured, "help")
    await _refused(secured, activity, "Bearer garbage")
    genuine = await secured.post(activity, Authorization=f"Bearer {token(secured.connector.url)}")
    assert genuine.status in (200, 201)
    assert len(_replies(secured)) == 1


# --- invokes (card buttons) ----------------------------------------------------------------


async def test_card_action_invoke_without_a_valid_token_is_401(secured: TeamsHarness) -> None:
    invoke = secured.activity("invoke_adaptive_card_action")
    for authorization in (None, f"Bearer {token(secured.connector.url, key=STRANGER)}"):
        await _refused(secured, invoke, authorization)
