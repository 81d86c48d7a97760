"""Consent failures: notice them, find out what happened, get the right admin to fix it.

Cronofy does not pass Microsoft's AADSTS codes back, so the signals are indirect: an
OAuth error on the callback, a link opened but never finished, the person's answer to
"what did Microsoft show?" (a button or pasted error text), and `invalid_grant` later.
Signals of one tenant and class group into one incident, so ten blocked people make one
alert that says "10 people".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta

from bot import consent_cards
from bot.connect import Actor, ConnectFlow
from bot.delivery import dm_item, send_or_edit
from bot.errors import ChatError
from bot.identity import TEAMS, ChatProfile, TeamRef
from bot.messages import Message, simple
from bot.ports import (
    ChatPort,
    Clock,
    ConsentAdvisor,
    Diagnosis,
    Evidence,
    FailedAttempt,
    Store,
    TenantDirectory,
)
from bot.records import IncidentRecord, LinkRecord, NewReport, OutboxItem, UserRecord, row_id

log = logging.getLogger(__name__)

ANSWER_WINDOW = timedelta(hours=24)
MAX_PASTE = 20_000

NOT_ADMIN = "Only workspace admins can act on consent alerts."


class ConsentService:
    def __init__(
        self,
        *,
        store: Store,
        chats: Mapping[str, ChatPort],
        clock: Clock,
        advisor: ConsentAdvisor,
        tenants: TenantDirectory,
        connect: ConnectFlow,
        is_admin: Callable[[Actor], bool],
        admins: frozenset[str] = frozenset(),
        alert_channel: str | None = None,
        stalled_after: timedelta = timedelta(minutes=10),
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._chats = chats
        self._clock = clock
        self._advisor = advisor
        self._tenants = tenants
        self._connect = connect
        self._is_admin = is_admin
        self._admins = admins
        self._alert_channel = alert_channel
        self._stalled = stalled_after
        self._wake = wake_outbox or (lambda: None)

    # --- signals -------------------------------------------------------------------------

    async def on_oauth_error(
        self, user: UserRecord, link: LinkRecord, error: str | None, description: str | None
    ) -> None:
        """Signal 1: the callback came back with `error=…`."""
        diagnosis = self._advisor.diagnose(oauth_error=error, error_description=description)
        await self._signal(user, "oauth_error", diagnosis, link_id=link.id, detail=description)

    async def run_stalled(self) -> int:
        """Signal 2 (a job): links opened but not finished within the configured time."""
        now = self._clock.now()
        intro = "You opened your connect link but the connection never came back to me."
        # The follow-up is queued with the claim (one transaction), the signal after it:
        # a crash in between loses at most a report, never the question to the person.
        links = await self._store.claim_stalled_links(
            now, now - self._stalled, follow_up=consent_cards.follow_up_card(intro).to_json()
        )
        if links:
            self._wake()
        for link in links:
            user = await self._store.get_user(link.user_id)
            if user is None:
                continue
            diagnosis = self._advisor.diagnose(stalled=True)
            await self._signal(user, "stalled", diagnosis, link_id=link.id)
        return len(links)

    async def on_answer(self, actor: Actor, answer: str) -> Message:
        """Signal 3a: the person pressed one of the follow-up buttons."""
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        diagnosis = self._advisor.diagnose(answer=answer)
        grouped = await self._signal(user, "answer", diagnosis)
        return self._ack(diagnosis, grouped)

    async def on_pasted(self, actor: Actor, text: str) -> Message | None:
        """Signal 3b: text pasted in a DM while a follow-up is open. None if not one."""
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        waiting = await self._store.awaiting_answer(user.id, self._clock.now() - ANSWER_WINDOW)
        if waiting is None:
            return None
        text = text[:MAX_PASTE]
        evidence = self._advisor.parse(text)
        diagnosis = self._advisor.diagnose(text=text)
        if not evidence.found_anything and diagnosis.failure_class == "unknown":
            return simple(
                "I couldn't find an error code in that. If you can, paste the “More details” "
                "part of Microsoft's page (it has a Request Id and a Correlation Id), or press "
                "one of the buttons above."
            )
        grouped = await self._signal(
            user, "pasted", diagnosis, link_id=waiting or None, evidence=evidence, detail=text
        )
        return self._ack(diagnosis, grouped)

    async def on_attachment(self, actor: Actor, reference: str) -> Message | None:
        """A screenshot of the error page: kept as a reference for the admin, no OCR."""
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        waiting = await self._store.awaiting_answer(user.id, self._clock.now() - ANSWER_WINDOW)
        if waiting is None:
            return None
        diagnosis = self._advisor.diagnose(stalled=True)
        await self._signal(user, "screenshot", diagnosis, attachment=reference[:1000])
        return simple("Thanks for the screenshot: I've added it to the report for your admins.")

    async def on_invalid_grant(self, user: UserRecord) -> None:
        """Signal 4: a working connection died with invalid_grant (maybe a policy change)."""
        diagnosis = self._advisor.diagnose(oauth_error="invalid_grant")
        await self._signal(user, "invalid_grant", diagnosis)

    async def on_connected(self, user_id: int) -> None:
        """Someone connected: update the alerts they were part of, close finished ones."""
        for incident_id in await self._store.live_incidents_for_user(user_id):
            incident = await self._store.get_incident(incident_id)
            if incident is None:
                continue
            everyone = all(u.id in incident.connected_user_ids for u in incident.affected)
            if everyone and incident.state == "fixed":
                await self._store.set_incident_state(incident_id, "resolved", expect="fixed")
            await self.refresh_alert(incident_id)

    # --- admin buttons -------------------------------------------------------------------

    async def fixed(self, actor: Actor, value: str) -> Message:
        incident = await self._admin_incident(actor, value)
        if isinstance(incident, Message):
            return incident
        name = (actor.profile.display_name if actor.profile else "") or actor.user.user_id
        if not await self._store.set_incident_state(incident.id, "fixed", by=name, expect="open"):
            return simple("This alert was already marked fixed. I'm following up with everyone.")
        for user in incident.affected:
            if user.id in incident.connected_user_ids:
                continue
            await self._connect.send_link(
                user,
                asked_by=None,
                key=f"retry:{incident.id}:{incident.generation}:{user.id}:{{link}}",
                intro="Your admin has approved calendar access. Please try connecting again.",
            )
        await self.refresh_alert(incident.id)
        return simple(
            "Thanks! I've asked everyone affected to try again and will report back here."
        )

    async def checklist(self, actor: Actor, value: str) -> Message:
        incident = await self._admin_incident(actor, value)
        if isinstance(incident, Message):
            return incident
        settings = await self._store.workspace_settings(incident.platform, incident.workspace_id)
        text = self._advisor.support_checklist(
            tenant_domain=incident.tenant_domain or None,
            tenant_id=incident.tenant if incident.tenant != incident.tenant_domain else None,
            attempts=[
                FailedAttempt(
                    user_email=r.user.email or r.user.ref.user_id,
                    at=r.occurred_at or r.created_at,
                    code=r.code,
                    correlation_id=r.correlation_id,
                    request_id=r.request_id,
                )
                for r in incident.current_reports
            ],
            anyone_connected=await self._store.anyone_connected_in_domain(
                incident.platform, incident.workspace_id, incident.tenant_domain
            )
            if incident.tenant_domain
            else None,
            timezone=actor.profile.tz if actor.profile else None,
            failure_class=incident.failure_class,
            consent_option=settings.get("consent_option"),
        )
        return consent_cards.checklist_card(text)

    async def dismiss(self, actor: Actor, value: str) -> Message:
        incident = await self._admin_incident(actor, value)
        if isinstance(incident, Message):
            return incident
        await self._store.set_incident_state(incident.id, "dismissed")
        await self.refresh_alert(incident.id)
        return simple("Understood: marked as not a consent problem. I won't remind you about it.")

    async def setup(self, actor: Actor) -> Message:
        """`/calendar admin setup` and app install: prevent the first "Need admin approval"."""
        if not self._is_admin(actor):
            return simple(NOT_ADMIN)
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        tenant, _ = await self._tenant_of(user)
        settings = await self._store.workspace_settings(user.ref.platform, user.ref.workspace_id)
        return consent_cards.onboarding_card(
            tenant,
            self._advisor.admin_consent_url(tenant),
            self._advisor.consent_options(),
            settings.get("consent_option"),
        )

    async def on_installed(self, actor: Actor) -> None:
        """calbot was just added to a workspace: DM the installer the onboarding card, so a
        strict tenant can be approved before the first interviewer sees "Need admin
        approval"."""
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        card = await self.setup(replace(actor, profile=_as_admin(actor)))
        key = f"onboarding:{user.ref.platform}:{user.ref.workspace_id}:{user.id}"
        await self._store.enqueue([dm_item(user, key, card.to_json())])
        self._wake()

    async def choose_option(self, actor: Actor, letter: str) -> Message:
        if not self._is_admin(actor):
            return simple(NOT_ADMIN)
        valid = {option[0] for option in self._advisor.consent_options()}
        if letter not in valid:
            return simple("That option doesn't exist any more.")
        await self._store.update_workspace_settings(
            actor.user.platform, actor.user.workspace_id, {"consent_option": letter}
        )
        return await self.setup(actor)

    # --- the alert -----------------------------------------------------------------------

    async def refresh_alert(self, incident_id: int, *, after_fix: bool = False) -> None:
        """(Re)render the incident's alert for every admin: sent once, then edited in place."""
        incident = await self._store.get_incident(incident_id)
        if incident is None:
            return
        admins = await self._alert_recipients(incident.platform, incident.workspace_id)
        if not admins:
            log.warning("consent incident %s has nobody to alert", incident.id)
            return
        settings = await self._store.workspace_settings(incident.platform, incident.workspace_id)
        remedy = self._advisor.remedy(
            incident.failure_class,
            tenant=incident.tenant,
            users=tuple(u.email or u.ref.user_id for u in incident.affected),
        )
        request = None
        if incident.generation > 1 and incident.state == "open":
            request = " ".join(remedy.if_still_failing) or None
        if self._alert_channel:
            # One alert in the admins' channel instead of one DM each, keyed by the
            # incident alone: who comes first among the admins may change meanwhile.
            admins = admins[:1]
            keys = [f"alert:{incident.id}:channel"]
        else:
            keys = [f"alert:{incident.id}:{admin.id}" for admin in admins]
        existing = await self._store.existing_keys(keys)
        items: list[OutboxItem] = []
        for admin, key in zip(admins, keys, strict=True):
            card = consent_cards.alert_card(
                incident,
                remedy,
                reader_tz=admin.tz,
                consent_option=settings.get("consent_option"),
                new_record_request=request,
            )
            items.append(
                send_or_edit(
                    admin,
                    key,
                    card,
                    already_sent=key in existing,
                    channel=self._alert_channel,
                )
            )
        await self._store.enqueue(items)
        self._wake()

    async def _alert_recipients(self, platform: str, workspace_id: str) -> list[UserRecord]:
        admins = {u.id: u for u in await self._store.workspace_admins(platform, workspace_id)}
        for user in await self._store.users_by_ids_or_emails(platform, workspace_id, self._admins):
            admins.setdefault(user.id, user)
        if admins:
            return list(admins.values())
        # Nobody known yet: ask the platform for its admins (Slack users.list knows them).
        chat = self._chats.get(platform)
        if chat is None:
            return []
        try:
            members = await chat.members(workspace_id, TeamRef("workspace", ""))
        except ChatError:
            return []
        found = [m for m in members if m.profile.is_admin and not m.profile.is_bot]
        if not found:
            return []
        users = await self._store.upsert_members(
            platform, workspace_id, [(m.user.user_id, m.profile, m.address) for m in found]
        )
        return list(users.values())

    # --- helpers -------------------------------------------------------------------------

    async def _signal(
        self,
        user: UserRecord,
        kind: str,
        diagnosis: Diagnosis,
        *,
        link_id: int | None = None,
        evidence: Evidence | None = None,
        detail: str | None = None,
        attachment: str | None = None,
    ) -> bool:
        """Record a signal; group it into an incident when a tenant admin must act."""
        report = NewReport(
            user_id=user.id,
            kind=kind,
            failure_class=diagnosis.failure_class,
            confidence=diagnosis.confidence,
            link_id=link_id,
            code=(evidence.primary_code if evidence else None) or diagnosis.code,
            correlation_id=evidence.correlation_id if evidence else None,
            request_id=evidence.request_id if evidence else None,
            occurred_at=evidence.timestamp if evidence else None,
            detail=detail,
            attachment=attachment,
        )
        admin_must_act = diagnosis.who_acts == "tenant_admin" and diagnosis.consent_problem
        group = None
        if admin_must_act:
            tenant, domain = await self._tenant_of(user)
            group = (user.ref.platform, user.ref.workspace_id, tenant, domain)
        incident_id, after_fix = await self._store.record_report(report, group=group)
        if incident_id is not None:
            await self.refresh_alert(incident_id, after_fix=after_fix)
        return incident_id is not None

    async def _tenant_of(self, user: UserRecord) -> tuple[str, str]:
        """(tenant, e-mail domain). Teams knows the tenant; otherwise ask the directory."""
        domain = (user.email or "").rpartition("@")[2].lower()
        if user.ref.platform == TEAMS:
            return user.ref.workspace_id, domain
        if not domain:
            return "unknown", ""
        found = await self._tenants.lookup(domain)
        return found.tenant, domain

    def _ack(self, diagnosis: Diagnosis, grouped: bool) -> Message:
        remedy = self._advisor.remedy(diagnosis.failure_class, tenant=None, users=())
        return consent_cards.user_answer_card(
            diagnosis.title, remedy.tell_user, admins_told=grouped
        )

    async def _admin_incident(self, actor: Actor, value: str) -> IncidentRecord | Message:
        if not self._is_admin(actor):
            return simple(NOT_ADMIN)
        number = row_id(value)
        incident = await self._store.get_incident(number) if number is not None else None
        if incident is None or (incident.platform, incident.workspace_id) != (
            actor.user.platform,
            actor.user.workspace_id,
        ):
            # Another workspace's incident id reads and changes nothing here.
            return simple("I can't find that alert.")
        return incident


def _as_admin(actor: Actor) -> ChatProfile:
    """Whoever installs an app in a workspace is allowed to set it up."""
    profile = actor.profile or ChatProfile()
    return replace(profile, is_admin=True)
