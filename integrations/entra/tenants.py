"""Which Entra tenant an e-mail domain signs in to.

Microsoft publishes an OpenID discovery document per tenant, addressable by any verified
domain: ``GET https://login.microsoftonline.com/{domain}/v2.0/.well-known/openid-configuration``.
Its ``issuer`` carries the tenant GUID. Lookups are short (3 s), cached, and never fail:
when Microsoft can't be asked, the domain itself stands in for the tenant, which the
admin-consent URL accepts just as well. An alert is never held back by this.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import httpx

from integrations.entra.catalogue import CONSUMER_TENANT_ID

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://login.microsoftonline.com"

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DOMAIN = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}"
)
_MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class TenantInfo:
    """``tenant`` is the tenant GUID when ``resolved``; otherwise the domain itself (or
    ``organizations`` when the input held no usable domain). Either works in
    ``admin_consent_url``."""

    tenant: str
    domain: str
    resolved: bool

    @property
    def consumer(self) -> bool:
        """Personal Microsoft accounts: there is no Entra admin to alert."""
        return self.tenant == CONSUMER_TENANT_ID


class TenantDirectory(Protocol):
    async def lookup(self, domain_or_email: str) -> TenantInfo: ...


def normalise_domain(domain_or_email: str) -> str:
    """``Alice@Contoso.COM.`` → ``contoso.com``; IDNs become punycode; junk → ``""``."""
    if not isinstance(domain_or_email, str):
        return ""
    value = domain_or_email.strip().rsplit("@", 1)[-1].strip().rstrip(".").lower()
    if not value.isascii():
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    if _GUID.fullmatch(value) or _DOMAIN.fullmatch(value):
        return value
    return ""


#: Stand-in for "the signing-in admin's own tenant" when not even a domain is known.
ORGANIZATIONS = "organizations"


def _fallback(domain: str) -> TenantInfo:
    return TenantInfo(tenant=domain or ORGANIZATIONS, domain=domain, resolved=False)


def tenant_from_discovery(document: Mapping[str, Any]) -> str | None:
    """The tenant GUID from a discovery document, cross-checked; ``None`` if unclear."""
    issuer = document.get("issuer")
    if not isinstance(issuer, str):
        return None
    # v2: https://login.microsoftonline.com/{guid}/v2.0 ; v1: https://sts.windows.net/{guid}/
    parts = [p for p in issuer.split("://", 1)[-1].split("/") if p]
    if len(parts) < 2 or not _GUID.fullmatch(parts[1].lower()):
        return None
    tenant = parts[1].lower()
    token_endpoint = document.get("token_endpoint")
    if isinstance(token_endpoint, str) and tenant not in token_endpoint.lower():
        return None
    return tenant


@dataclass
class _Entry:
    info: TenantInfo
    expires: float


@dataclass(kw_only=True)
class OpenIdTenantDirectory:
    """The real adapter: Microsoft's public OpenID discovery document, with a cache."""

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 3.0
    #: How long a found tenant is remembered (Microsoft sends max-age=86400).
    ttl: float = 24 * 3600.0
    #: How long "no such tenant" is remembered.
    not_found_ttl: float = 3600.0
    #: How long a failed lookup (timeout, 5xx, bad JSON) is remembered before asking again.
    error_ttl: float = 300.0
    max_entries: int = 10_000
    client: httpx.AsyncClient | None = None
    clock: Callable[[], float] = time.monotonic
    _cache: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, init=False, repr=False)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    _owns_client: bool = field(default=False, init=False, repr=False)

    async def __aenter__(self) -> OpenIdTenantDirectory:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.client is not None and self._owns_client:
            await self.client.aclose()
            self.client = None
            self._owns_client = False

    def cached(self, domain_or_email: str) -> TenantInfo | None:
        """The cached answer, if still fresh (no network)."""
        entry = self._cache.get(normalise_domain(domain_or_email))
        if entry is None or entry.expires <= self.clock():
            return None
        return entry.info

    async def lookup(self, domain_or_email: str) -> TenantInfo:
        """Resolve an e-mail address or domain. Never raises."""
        try:
            domain = normalise_domain(domain_or_email)
            if not domain:
                return _fallback("")
            if _GUID.fullmatch(domain):
                return TenantInfo(tenant=domain, domain=domain, resolved=True)
            hit = self.cached(domain)
            if hit is not None:
                return hit
            lock = self._locks.setdefault(domain, asyncio.Lock())
            async with lock:
                hit = self.cached(domain)
                if hit is not None:
                    return hit
                info, ttl = await self._fetch(domain)
                self._remember(domain, info, ttl)
                return info
        except Exception:  # never let a lookup break an alert
            logger.warning("entra.tenant_lookup_failed", exc_info=True)
            domain = normalise_domain(domain_or_email) if isinstance(domain_or_email, str) else ""
            return _fallback(domain)
        finally:
            self._prune_locks()

    def _remember(self, domain: str, info: TenantInfo, ttl: float) -> None:
        self._cache[domain] = _Entry(info, self.clock() + ttl)
        self._cache.move_to_end(domain)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    def _prune_locks(self) -> None:
        if len(self._locks) > 1_000:
            for key in [k for k, lock in self._locks.items() if not lock.locked()]:
                del self._locks[key]

    def _http(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": "calbot", "Accept": "application/json"},
                follow_redirects=False,
            )
            self._owns_client = True
        return self.client

    async def _fetch(self, domain: str) -> tuple[TenantInfo, float]:
        url = f"{self.base_url.rstrip('/')}/{domain}/v2.0/.well-known/openid-configuration"
        unresolved = _fallback(domain)
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http().get(url)
        except (httpx.HTTPError, TimeoutError) as exc:
            logger.info(
                "entra.tenant_lookup_unavailable domain=%s error=%s", domain, type(exc).__name__
            )
            return unresolved, self.error_ttl
        if response.status_code in (400, 404):
            logger.info("entra.tenant_not_found domain=%s", domain)
            return unresolved, self.not_found_ttl
        if response.status_code != 200 or len(response.content) > _MAX_BODY:
            logger.info(
                "entra.tenant_lookup_bad_status domain=%s status=%s", domain, response.status_code
            )
            return unresolved, self.error_ttl
        try:
            document = response.json()
        except ValueError:
            return unresolved, self.error_ttl
        tenant = tenant_from_discovery(document) if isinstance(document, dict) else None
        if tenant is None:
            return unresolved, self.error_ttl
        return TenantInfo(tenant=tenant, domain=domain, resolved=True), self.ttl


class FakeTenantDirectory:
    """In-memory directory for tests and the demo: ``{"contoso.com": "<guid>"}``.

    Unknown domains fall back to the domain itself, like the real one. ``calls`` records
    every lookup.
    """

    def __init__(self, tenants: Mapping[str, str] | None = None) -> None:
        self.tenants = {normalise_domain(k) or k.lower(): v for k, v in (tenants or {}).items()}
        self.calls: list[str] = []

    def add(self, domain: str, tenant: str) -> None:
        self.tenants[normalise_domain(domain) or domain.lower()] = tenant

    async def lookup(self, domain_or_email: str) -> TenantInfo:
        self.calls.append(domain_or_email)
        domain = normalise_domain(domain_or_email)
        tenant = self.tenants.get(domain)
        if tenant is None:
            if _GUID.fullmatch(domain):
                return TenantInfo(tenant=domain, domain=domain, resolved=True)
            return _fallback(domain)
        return TenantInfo(tenant=tenant, domain=domain, resolved=True)
