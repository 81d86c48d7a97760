"""The core's front door: every adapter hands commands and button presses to `Bot`."""

from __future__ import annotations

import logging

from bot import cards
from bot.commands import parse_command
from bot.connect import Actor, ConnectFlow
from bot.consent import ConsentService
from bot.digest import DigestService
from bot.forms import Form, FormErrors, FormValues
from bot.home import home_card
from bot.messages import Message, Section, simple
from bot.ports import Store
from bot.propose import REPLACE_FORM_PREFIX, ProposeService
from bot.propose_form import PROPOSE_FORM_ID
from bot.team import TeamService

log = logging.getLogger(__name__)


PROPOSE_FALLBACK = (
    "Propose interview times: fill in the form, or type it in one line, e.g. "
    '`/calendar propose "Jane Doe" 45m with @alice @bob [any 1 of @carol @dan] next week`.'
)


class Bot:
    def __init__(
        self,
        *,
        store: Store,
        connect: ConnectFlow,
        team: TeamService,
        consent: ConsentService,
        propose: ProposeService,
        digest: DigestService,
    ) -> None:
        self.store = store
        self.connect = connect
        self.team = team
        self.consent = consent
        self.propose = propose
        self.digest = digest

    async def command(self, actor: Actor, text: str) -> Message:
        """A slash command or a message to the bot. Returns the immediate reply."""
        intent = parse_command(text)
        if intent.name == "connect":
            return await self.connect.request(actor)
        if intent.name == "disconnect":
            return await self.connect.disconnect(actor)
        if intent.name == "status":
            if intent.target is not None and intent.target.id != actor.user.user_id:
                return await self.team.person(actor, intent.target)
            return await self.own_status(actor)
        if intent.name == "team":
            return await self.team.report(
                actor, self.team.resolve_team(intent.target, actor.channel)
            )
        if intent.name == "home":
            return await self.home(actor)
        if intent.name == "help":
            return cards.help_card()
        if intent.name == "setup":
            return await self.consent.setup(actor)
        if intent.name == "digest":
            return await self.digest.command(actor, intent.text)
        if intent.name == "propose":
            started = await self.propose.start(actor, intent.text)
            if isinstance(started, Form):
                return Message(
                    text="Propose interview times",
                    blocks=(Section(text=PROPOSE_FALLBACK),),
                    form=started,
                )
            return started
        pasted = await self.consent.on_pasted(actor, intent.text)
        if pasted is not None:
            return pasted
        return simple(f"Sorry, I don't know “{intent.text.strip()[:80]}”. Try `/calendar help`.")

    async def action(self, actor: Actor, action_id: str, value: str) -> Message | None:
        """A button press. Returns a reply to show the presser, or None for nothing."""
        if action_id == "connect.open":
            return None  # a link button: the browser does the work
        if action_id == "connect.reconnect":
            return await self._new_link(actor)
        if action_id == "connect.disconnect":
            return await self.connect.disconnect(actor)
        if action_id == "status.nudge_one":
            return await self.team.nudge_one(actor, value)
        if action_id == "status.nudge_all":
            return await self.team.nudge_all(actor, value)
        if action_id == "status.refresh":
            return await self.team.refresh(actor, value)
        if action_id == "digest.off":
            return await self.digest.command(actor, "off")
        if action_id == "consent.answer":
            return await self.consent.on_answer(actor, value)
        if action_id == "consent.fixed":
            return await self.consent.fixed(actor, value)
        if action_id == "consent.checklist":
            return await self.consent.checklist(actor, value)
        if action_id == "consent.dismiss":
            return await self.consent.dismiss(actor, value)
        if action_id == "consent.option":
            return await self.consent.choose_option(actor, value)
        if action_id == "propose.accept":
            return await self.propose.answer(actor, value, "accept")
        if action_id == "propose.decline":
            return await self.propose.answer(actor, value, "decline")
        if action_id == "propose.none":
            return await self.propose.none_work(actor, value)
        if action_id == "propose.cancel":
            return await self.propose.cancel(actor, value)
        if action_id == "propose.next":
            return await self.propose.next_window(actor, value)
        if action_id == "propose.nudge":
            return await self.propose.nudge(actor, value)
        if action_id == "propose.replace":
            return await self.propose.replace_form(actor, value)
        if action_id == "propose.retry":
            return await self.propose.retry(actor, value)
        if action_id in {"consent.open_link", "health.relink"}:
            return None  # link buttons: the browser does the work
        log.info("unknown action %s", action_id)
        return simple("That button is no longer active.")

    async def home(self, actor: Actor) -> Message:
        """Slack's App Home tab, or `home` typed to the bot elsewhere."""
        user = await self.store.upsert_user(actor.user, actor.profile, actor.address)
        connection = await self.store.get_connection(user.id)
        admin = self.team.is_admin(actor)
        counts = (
            await self.store.connection_counts(actor.user.platform, actor.user.workspace_id)
            if admin
            else None
        )
        return home_card(
            name=user.display_name or user.ref.user_id,
            connection=connection,
            is_admin=admin,
            counts=counts,
        )

    async def submit(self, actor: Actor, form_id: str, values: FormValues) -> FormErrors | Message:
        """A submitted form. Field errors come back for the adapter to show in the form."""
        if form_id == PROPOSE_FORM_ID:
            return await self.propose.submit(actor, values)
        if form_id.startswith(REPLACE_FORM_PREFIX):
            return await self.propose.replace(actor, form_id, values)
        return simple("That form is no longer active.")

    async def installed(self, actor: Actor) -> None:
        """The app was installed (Slack OAuth, Teams installationUpdate) by `actor`."""
        await self.consent.on_installed(actor)

    async def attachment(self, actor: Actor, reference: str) -> Message | None:
        """A file the person shared with the bot (a screenshot of an error page)."""
        return await self.consent.on_attachment(actor, reference)

    async def own_status(self, actor: Actor) -> Message:
        user = await self.store.upsert_user(actor.user, actor.profile, actor.address)
        connection = await self.store.get_connection(user.id)
        if connection is None:
            return simple(
                "Your calendar isn't connected yet. Use `/calendar connect` to connect it."
            )
        if connection.is_healthy:
            return simple(
                f"Your calendar is connected: {connection.provider_label} "
                f"({connection.profile_name})."
            )
        return simple(
            f"Your calendar connection needs attention ({connection.state.replace('_', ' ')}). "
            "Use `/calendar connect` to reconnect."
        )

    async def _new_link(self, actor: Actor) -> Message:
        user = await self.store.upsert_user(actor.user, actor.profile, actor.address)
        await self.connect.send_link(user)
        return simple("I've sent you a new personal link in a DM.")
