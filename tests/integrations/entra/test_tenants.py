from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from integrations.entra import (
    CONSUMER_TENANT_ID,
    FakeTenantDirectory,
    OpenIdTenantDirectory,
    TenantInfo,
    admin_consent_url,
    normalise_domain,
    tenant_from_discovery,
)

BASE = "https://login.test"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def discovery(tenant: str = TENANT_ID) -> dict[str, object]:
    return {
        "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "token_endpoint": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "tenant_region_scope": "WW",
        "cloud_instance_name": "microsoftonline.com",
    }


def url(domain: str) -> str:
    return f"{BASE}/{domain}/v2.0/.well-known/openid-configuration"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def directory(clock: Clock):
    async with OpenIdTenantDirectory(base_url=BASE, timeout=0.5, clock=clock) as d:
        yield d


@respx.mock
async def test_resolves_and_caches(directory: OpenIdTenantDirectory) -> None:
    route = respx.get(url("contoso.com")).mock(
        return_value=httpx.Response(
            200, json=discovery(), headers={"Cache-Control": "max-age=86400, private"}
        )
    )
    first = await directory.lookup("Alice@Contoso.com")
    assert first == TenantInfo(tenant=TENANT_ID, domain="contoso.com", resolved=True)
    assert not first.consumer
    second = await directory.lookup("contoso.com")
    assert second == first
    assert route.call_count == 1  # the second lookup came from the cache


@respx.mock
async def test_unknown_domain_falls_back_to_the_domain(
    directory: OpenIdTenantDirectory, clock: Clock
) -> None:
    route = respx.get(url("nope.example")).mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "invalid_tenant",
                "error_description": "AADSTS90002: Tenant 'nope.example' not found.",
            },
        )
    )
    info = await directory.lookup("bob@nope.example")
    assert info == TenantInfo(tenant="nope.example", domain="nope.example", resolved=False)
    # The fallback still makes a usable admin-consent link.
    assert admin_consent_url(info.tenant).startswith(
        "https://login.microsoftonline.com/nope.example/adminconsent?"
    )
    await directory.lookup("nope.example")
    assert route.call_count == 1  # negative answers are cached too
    clock.now += directory.not_found_ttl + 1
    await directory.lookup("nope.example")
    assert route.call_count == 2  # … until they expire


@respx.mock
async def test_timeout_falls_back(directory: OpenIdTenantDirectory, clock: Clock) -> None:
    route = respx.get(url("slow.example")).mock(side_effect=httpx.ConnectTimeout("boom"))
    info = await directory.lookup("slow.example")
    assert info == TenantInfo(tenant="slow.example", domain="slow.example", resolved=False)
    await directory.lookup("slow.example")
    assert route.call_count == 1
    clock.now += directory.error_ttl + 1
    route.mock(return_value=httpx.Response(200, json=discovery()))
    assert (await directory.lookup("slow.example")).resolved


@respx.mock
async def test_a_hanging_server_is_cut_off_by_the_total_timeout(clock: Clock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=discovery())

    respx.get(url("hang.example")).mock(side_effect=hang)
    async with OpenIdTenantDirectory(base_url=BASE, timeout=0.05, clock=clock) as directory:
        loop = asyncio.get_running_loop()
        started = loop.time()
        info = await directory.lookup("hang.example")
        assert loop.time() - started < 2
    assert not info.resolved and info.tenant == "hang.example"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="oops"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["a list"]),
        httpx.Response(200, json={"issuer": "https://login.microsoftonline.com/not-a-guid/v2.0"}),
        httpx.Response(
            200,
            json={
                "issuer": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
                "token_endpoint": "https://login.microsoftonline.com/other/oauth2/v2.0/token",
            },
        ),
    ],
)
@respx.mock
async def test_bad_answers_fall_back(
    directory: OpenIdTenantDirectory, response: httpx.Response
) -> None:
    respx.get(url("odd.example")).mock(return_value=response)
    info = await directory.lookup("odd.example")
    assert info == TenantInfo(tenant="odd.example", domain="odd.example", resolved=False)


@respx.mock
async def test_junk_input_never_reaches_the_network(directory: OpenIdTenantDirectory) -> None:
    for junk in ["", "not a domain", "a/b.com", "x@", "..", None]:
        info = await directory.lookup(junk)  # type: ignore[arg-type]
        assert info.resolved is False
        assert info.tenant == "organizations"
    assert respx.calls.call_count == 0


@respx.mock
async def test_a_tenant_id_is_its_own_answer(directory: OpenIdTenantDirectory) -> None:
    info = await directory.lookup(TENANT_ID.upper())
    assert info == TenantInfo(tenant=TENANT_ID, domain=TENANT_ID, resolved=True)
    assert respx.calls.call_count == 0


@respx.mock
async def test_concurrent_lookups_share_one_request(directory: OpenIdTenantDirectory) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return httpx.Response(200, json=discovery())

    route = respx.get(url("contoso.com")).mock(side_effect=slow)
    results = await asyncio.gather(*(directory.lookup("contoso.com") for _ in range(5)))
    assert {r.tenant for r in results} == {TENANT_ID}
    assert route.call_count == 1


@respx.mock
async def test_consumer_tenant_is_recognised(directory: OpenIdTenantDirectory) -> None:
    respx.get(url("outlook.com")).mock(
        return_value=httpx.Response(200, json=discovery(CONSUMER_TENANT_ID))
    )
    assert (await directory.lookup("someone@outlook.com")).consumer


def test_tenant_from_discovery_v1_issuer() -> None:
    assert tenant_from_discovery({"issuer": f"https://sts.windows.net/{TENANT_ID}/"}) == TENANT_ID
    assert tenant_from_discovery({}) is None
    assert tenant_from_discovery({"issuer": 7}) is None


def test_normalise_domain() -> None:
    assert normalise_domain(" Alice@Contoso.COM. ") == "contoso.com"
    assert normalise_domain("bücher.de") == "xn--bcher-kva.de"
    assert normalise_domain("no spaces.com") == ""


async def test_fake_directory() -> None:
    fake = FakeTenantDirectory({"Contoso.com": TENANT_ID})
    assert await fake.lookup("alice@contoso.com") == TenantInfo(TENANT_ID, "contoso.com", True)
    assert await fake.lookup("fabrikam.com") == TenantInfo("fabrikam.com", "fabrikam.com", False)
    fake.add("fabrikam.com", CONSUMER_TENANT_ID)
    assert (await fake.lookup("fabrikam.com")).consumer
    assert fake.calls == ["alice@contoso.com", "fabrikam.com", "fabrikam.com"]
