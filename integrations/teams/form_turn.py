"""One submitted form card, handled: ``Bot.submit``, then what the card turns into.

Both ways a card can submit (``Action.Submit`` → message, ``Action.Execute`` → invoke)
end here. With field errors the form comes back as it was submitted, each error under
its field, and the core has stored nothing; once accepted, the form is replaced by a
short "sent" card so the same inputs can't be submitted a second time by accident.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botbuilder.core import TurnContext

from bot.connect import Actor
from bot.dispatch import Bot
from bot.errors import ChatError
from bot.identity import UserRef
from bot.messages import Message
from bot.ports import Store
from integrations.teams.chat import card_activity
from integrations.teams.errors import connector_errors
from integrations.teams.form_card import Submission, render_form, submitted_card
from integrations.teams.render import ActionKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormOutcome:
    card: dict[str, Any]  # what the form card becomes: itself with errors, or "sent"
    reply: Message | None  # the core's answer to a form it accepted


async def submit_form(
    bot: Bot, store: Store, actor: Actor, submission: Submission, kind: ActionKind
) -> FormOutcome:
    form = submission.form
    result = await bot.submit(actor, form.id, submission.values)
    if isinstance(result, dict):
        names = await picked_names(store, actor, submission)
        card = render_form(form, values=submission.values, errors=result, names=names, actions=kind)
        return FormOutcome(card, None)
    return FormOutcome(submitted_card(form), result)


async def picked_names(store: Store, actor: Actor, submission: Submission) -> dict[str, str]:
    """Display names of the people picked in the form, for the ones calbot knows."""
    names: dict[str, str] = {}
    for field in submission.form.fields:
        value = submission.values.get(field.id)
        if field.kind != "users" or not isinstance(value, list):
            continue
        for uid in value:
            known = await store.find_user(
                UserRef(actor.user.platform, actor.user.workspace_id, uid)
            )
            if known is not None and known.display_name:
                names[uid] = known.display_name
    return names


async def replace_form(turn_context: TurnContext, card: dict[str, Any]) -> None:
    """Edit the form message an Action.Submit came from (``replyToId``) into ``card``.

    If it can't be edited (no id, or Teams refuses), the card is sent as a new message
    instead: a form with errors must be seen, and a duplicate "sent" note is harmless.
    """
    activity = card_activity(card, summary=str(card.get("fallbackText") or ""))
    target = turn_context.activity.reply_to_id
    if target:
        activity.id = target
        try:
            async with connector_errors("update form"):
                await turn_context.update_activity(activity)
            return
        except ChatError as exc:
            log.info("teams form card could not be edited, sending it anew: %s", exc)
        activity.id = None
    try:
        async with connector_errors("send form"):
            await turn_context.send_activity(activity)
    except ChatError as exc:
        log.warning("teams form card could not be sent: %s", exc)
