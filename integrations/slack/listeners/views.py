"""Modal submissions (`view_submission`): field errors in the modal, the rest after the ack.

Slack wants the answer to a submission within 3 s, and field errors can only be shown
in that answer (`response_action: errors`). The core's full `Bot.submit` can't promise
that: for a proposal it looks up every interviewer (`users.info` each), stores the
proposal, asks Cronofy for availability (a second or more on a dense panel, and it
retries 429/5xx with back-off) and queues the offers. So the ack runs only the form's
cheap, pure check (for proposals `bot.propose_form.draft_from_form`, microseconds, no
I/O), which catches everything a person can fix in the form (no candidate, duration
out of range, pool N larger than the pool, dates, time zone). With errors the modal
stays open showing them and nothing is stored. Without, the modal closes and the full
submit runs after the ack; its answer (or, rarely, an error only it can find, such as
a bot picked as interviewer) goes to the submitter's DM with the bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.forms import FormErrors, FormValues
from bot.messages import Message, simple
from bot.propose_form import PROPOSE_FORM_ID, draft_from_form
from integrations.slack.actors import build_actor, team_of
from integrations.slack.forms import field_errors, form_values
from integrations.slack.listeners import SORRY, SlackDeps
from integrations.slack.listeners.actions import answer_in_dm

log = logging.getLogger(__name__)

QuickCheck = Callable[[FormValues, datetime], FormErrors]


def _propose_check(values: FormValues, now: datetime) -> FormErrors:
    # "Today" in the zone the form names (prefilled with the coordinator's own), so the
    # ack needs no users.info; the full submit checks again with the profile's zone.
    raw = values.get("tz")
    try:
        zone = ZoneInfo(raw.strip()) if isinstance(raw, str) and raw.strip() else UTC
    except (ValueError, KeyError):  # the check itself reports a bad zone name
        zone = UTC
    _, errors = draft_from_form(values, now.astimezone(zone).date())
    return errors


# Form id → its check that is safe to run before the ack. A form without one is acked
# as submitted and judged by the core afterwards.
QUICK_CHECKS: dict[str, QuickCheck] = {PROPOSE_FORM_ID: _propose_check}


def quick_errors(form_id: str, values: FormValues, now: datetime) -> FormErrors:
    check = QUICK_CHECKS.get(form_id)
    if check is None:
        return {}
    try:
        return check(values, now)
    except Exception:
        # Not worth a failed submission: the core runs the same check after the ack.
        log.exception("quick check of form %s failed", form_id)
        return {}


def register(app: AsyncApp, deps: SlackDeps) -> None:
    # Any callback id: the callback id is the core's form id, and an unknown one is the
    # core's to answer ("That form is no longer active").
    @app.view(re.compile(r".*"))
    async def on_view_submission(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        form_id = str(view.get("callback_id") or "")
        values = form_values(view)
        errors = field_errors(quick_errors(form_id, values, deps.clock.now()), view)
        if errors:  # empty when the view has no input to attach them to (a crafted payload)
            await ack(response_action="errors", errors=errors)
            return
        await ack()  # closes this modal
        user_id = (body.get("user") or {}).get("id")
        if not user_id:
            return
        deps.background.spawn(
            run_submission(
                deps,
                client,
                team_id=team_of(body, context.team_id),
                user_id=str(user_id),
                form_id=form_id,
                values=values,
            ),
            name=f"slack form {form_id}",
        )


async def run_submission(
    deps: SlackDeps,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    form_id: str,
    values: FormValues,
) -> None:
    reply: Message
    try:
        actor = await build_actor(client, team_id, user_id)
        result = await deps.bot.submit(actor, form_id, values)
        reply = result if isinstance(result, Message) else late_errors(result)
    except Exception:
        log.exception("form %s failed", form_id)
        reply = SORRY
    try:
        await answer_in_dm(client, user_id, reply)
    except Exception as exc:
        log.warning("could not answer form %s: %s", form_id, type(exc).__name__)


def late_errors(errors: FormErrors) -> Message:
    """Errors only the full submit could find, after the modal had closed."""
    lines = "\n".join(f"• {message}" for message in errors.values())
    return simple(
        f"I couldn't go ahead with that form:\n{lines}\nPlease open it again and change that."
    )
