"""Cards for consent failures: the follow-up question, the admin alert, the checklist."""

from __future__ import annotations

from bot.cards import fmt_when, new_link_button
from bot.messages import Actions, Block, Button, Context, Divider, Fields, Header, Message, Section
from bot.ports import Remedy
from bot.records import IncidentRecord

ANSWERS = (
    ("Need admin approval", "need_admin_approval"),
    ("Admin consent required", "admin_consent_required"),
    ("This app is blocked", "app_blocked"),
    ("I cancelled", "cancelled"),
    ("Something else", "something_else"),
)


def follow_up_card(intro: str) -> Message:
    text = "It looks like connecting your calendar didn't finish. What did Microsoft show?"
    return Message(
        text=text,
        blocks=(
            Section(text=f"{intro}\n**{text}**"),
            Actions(
                buttons=tuple(
                    Button(label=label, action_id="consent.answer", value=value)
                    for label, value in ANSWERS
                )
            ),
            Context(
                text="You can also paste the error text here (the “More details” or "
                "“Troubleshooting details” part helps most), or upload a screenshot."
            ),
            Actions(buttons=(new_link_button("Get a new link"),)),
        ),
    )


def user_answer_card(title: str, tell_user: str, *, admins_told: bool) -> Message:
    lines = [f"Thanks, that helps: **{title}**.", tell_user]
    if admins_told:
        lines.append(
            "I've told your admins what to change. I'll send you a new link when it's done."
        )
    blocks: list[Block] = [Section(text="\n".join(lines))]
    if not admins_told:
        blocks.append(Actions(buttons=(new_link_button("Get a new link", primary=True),)))
    return Message(text=f"Thanks: {title}", blocks=tuple(blocks))


def _people(incident: IncidentRecord) -> str:
    return ", ".join(
        f"<@{u.ref.user_id}|{u.display_name or u.ref.user_id}>" for u in incident.affected
    )


def alert_card(
    incident: IncidentRecord,
    remedy: Remedy,
    *,
    reader_tz: str | None,
    consent_option: str | None = None,
    new_record_request: str | None = None,
) -> Message:
    affected = incident.affected
    count = len(affected)
    people = f"{count} {'person' if count == 1 else 'people'}"
    connected = sum(1 for u in affected if u.id in incident.connected_user_ids)
    tenant = incident.tenant_domain or incident.tenant
    title = f"Calendar connections blocked in {tenant}: {remedy.title}"
    blocks: list[Block] = [Header(text=title[:150])]
    if incident.state == "resolved":
        blocks.append(Section(text=f"✅ **Resolved**: all {people} have connected since the fix."))
    elif incident.state == "dismissed":
        blocks.append(Section(text="Marked as not a consent problem. No further reminders."))
    elif incident.state == "fixed":
        blocks.append(
            Section(
                text=f"🔧 Marked fixed by {incident.fixed_by or 'an admin'}"
                + (f" {fmt_when(incident.fixed_at, reader_tz)}" if incident.fixed_at else "")
                + f". **{connected} of {count} connected** since; I've asked the others to retry."
            )
        )
    blocks.append(
        Section(
            text=f"**{people}** couldn't connect their calendar since "
            f"{fmt_when(incident.created_at, reader_tz)}: {_people(incident)}"
        )
    )
    if new_record_request:
        blocks.append(Section(text=f"⚠️ **It failed again after the fix.** {new_record_request}"))
    evidence = incident.current_reports
    codes = sorted({r.code for r in evidence if r.code})
    correlations = [r.correlation_id for r in evidence if r.correlation_id][-3:]
    times = [r.occurred_at or r.created_at for r in evidence][-3:]
    facts: list[tuple[str, str]] = [("Tenant", tenant), ("Microsoft app", "Cronofy for Office 365")]
    if codes:
        facts.append(("Error codes", ", ".join(codes)))
    if correlations:
        facts.append(("Correlation ids", ", ".join(correlations)))
    if times:
        facts.append(("Attempts", "; ".join(fmt_when(t, reader_tz) for t in times)))
    if any(r.attachment for r in evidence):
        facts.append(("Screenshots", str(sum(1 for r in evidence if r.attachment))))
    if consent_option:
        facts.append(("Consent policy chosen", f"Option {consent_option}"))
    blocks.append(Fields(items=tuple(facts)))
    if incident.state in {"open", "fixed"}:
        blocks.append(Section(text=f"**What's going on**\n{remedy.diagnosis}\n{remedy.cause}"))
        steps = "\n".join(
            f"{n}. {text}" + (f" [Open]({url})" if url else "")
            for n, (text, url) in enumerate(remedy.steps, start=1)
        )
        blocks.append(Section(text=f"**How to fix it**\n{steps}"[:2900]))
        if remedy.verify:
            blocks.append(Section(text="**Check**\n" + "\n".join(f"• {v}" for v in remedy.verify)))
        if remedy.options:
            options = "\n".join(f"• **Option {o[0]}: {o[1]}** — {o[2]}" for o in remedy.options)
            blocks.append(Section(text=f"**Or choose a standing policy**\n{options}"[:2900]))
        if remedy.mistakes:
            blocks.append(Context(text="Common mistakes: " + " ".join(remedy.mistakes)[:1900]))
        blocks.append(Divider())
        blocks.append(
            Actions(
                buttons=(
                    Button(
                        label="Grant admin consent",
                        action_id="consent.open_link",
                        url=remedy.admin_consent_url,
                        style="primary",
                    ),
                    Button(
                        label="I've fixed it", action_id="consent.fixed", value=str(incident.id)
                    ),
                    Button(
                        label="Show support checklist",
                        action_id="consent.checklist",
                        value=str(incident.id),
                    ),
                    Button(
                        label="Not a consent problem",
                        action_id="consent.dismiss",
                        value=str(incident.id),
                    ),
                )
            )
        )
    return Message(text=title, blocks=tuple(blocks))


def checklist_card(text: str) -> Message:
    return Message(
        text="Support checklist",
        blocks=(
            Section(text="**Support checklist** — copy it into your support request:"),
            Section(text=f"```\n{text[:2800]}\n```"),
            Context(text="Attach a screenshot of the error page with personal data redacted."),
        ),
    )


def onboarding_card(
    tenant: str, consent_url: str, options: tuple[tuple[str, str, str], ...], chosen: str | None
) -> Message:
    intro = (
        f"People in this workspace sign in to Microsoft tenant **{tenant}**. If your tenant "
        "requires admin approval for apps, each interviewer will see “Need admin approval” "
        "when connecting. Approve **Cronofy for Office 365** once, before anyone hits it — "
        "each person still approves access to their own calendar afterwards."
    )
    blocks: list[Block] = [
        Header(text="Set up calendar access for your organisation"),
        Section(text=intro),
        Actions(
            buttons=(
                Button(
                    label="Grant admin consent (one click)",
                    action_id="consent.open_link",
                    url=consent_url,
                    style="primary",
                ),
            )
        ),
        Section(
            text="**Or choose a standing policy:**\n"
            + "\n".join(
                f"• **Option {letter}: {title}** — {summary}" for letter, title, summary in options
            )
        ),
        Actions(
            buttons=tuple(
                Button(
                    label=f"Option {letter}" + (" ✓" if chosen == letter else ""),
                    action_id="consent.option",
                    value=letter,
                )
                for letter, _, _ in options
            )
        ),
    ]
    if chosen:
        blocks.append(Context(text=f"Recorded: Option {chosen}. You can change it any time."))
    return Message(text="Set up calendar access for your organisation", blocks=tuple(blocks))
