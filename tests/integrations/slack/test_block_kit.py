"""Every card calbot can produce, rendered for Slack and checked like Slack checks it.

Each card is built from realistic (and worst-case sized) data, rendered through
`integrations.slack.render`, parsed back with slack_sdk's Block Kit model classes (whose
validators enforce most limits) and checked against the limits the models leave out.
A card that fails here would be answered `invalid_blocks` the first time an
organisation hits it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot import cards, consent_cards, propose_cards, status_cards
from bot.digest import TeamLine
from bot.home import home_card
from bot.identity import ChatProfile, Member, TeamRef, UserRef
from bot.messages import Message
from bot.ports import FailedAttempt
from bot.records import (
    ConnectionRecord,
    IncidentRecord,
    ParticipantRecord,
    ProposalRecord,
    ReportRecord,
    SlotRecord,
    UserRecord,
)
from bot.slots.model import MAX_COUNT
from bot.sync_status import REASONS, MemberStatus, TeamStatus
from integrations.entra.advisor import EntraAdvisor
from integrations.entra.catalogue import FailureClass
from integrations.slack.render import home_view, render
from tests.fakes.mock_slack import validate_blocks

# Slack's limits (reference/slack.md §6; docs.slack.dev/reference/block-kit).
MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
MESSAGE_TEXT = 40_000
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ACTION_ID = 255

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADVISOR = EntraAdvisor()
TENANT = "8f3e0a6c-4c1b-4d8e-9a51-2f6f0c1b7d42"
LONG_NAME = "Maximiliana Alexandra Konstantinopoulou-Vanderbilt-Ramaswamy (Recruiting, EMEA)"


# --- the checks ---------------------------------------------------------------------


def check_blocks(blocks: list[dict[str, Any]], *, max_blocks: int = MESSAGE_BLOCKS) -> None:
    assert 1 <= len(blocks) <= max_blocks, f"{len(blocks)} blocks"
    models = Block.parse_all(blocks)
    assert None not in models, "a block type slack_sdk doesn't know"
    for model in models:
        model.validate_json()  # slack_sdk's validators: raises SlackObjectFormationError
        assert model.to_dict() == _without_none(model.to_dict())
    validate_blocks(blocks, max_blocks=max_blocks)  # the mock's checks (as Slack's server)
    action_ids: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT
        elif kind == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"].strip()) <= SECTION_TEXT
            fields = block.get("fields") or []
            assert len(fields) <= SECTION_FIELDS
            assert all(len(f["text"]) <= FIELD_TEXT for f in fields)
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= CONTEXT_ELEMENTS
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= ACTIONS_ELEMENTS
            for element in block["elements"]:
                assert element["type"] == "button"
                assert 0 < len(element["text"]["text"]) <= BUTTON_TEXT
                assert len(element.get("value", "")) <= BUTTON_VALUE
                assert len(element.get("url", "")) <= BUTTON_URL
                assert len(element["action_id"]) <= ACTION_ID
                action_ids.append(element["action_id"])
        else:
            assert kind == "divider", kind
    assert len(action_ids) == len(set(action_ids)), "duplicate action_id"


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def check_message(message: Message) -> list[dict[str, Any]]:
    """A message as chat.postMessage / chat.update / respond() send it."""
    payload = render(message)
    assert 0 < len(payload["text"]) <= MESSAGE_TEXT
    check_blocks(payload["blocks"])
    return list(payload["blocks"])


def check_complete(message: Message, blocks: list[dict[str, Any]]) -> None:
    """Nothing was cut to fit: every button and every line of text made it."""
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {e["action_id"].split("#")[0] for e in elements} == {
        b.action_id for b in message.buttons()
    }
    assert len(elements) == len(message.buttons())
    assert not any("message shortened" in str(b) for b in blocks)


# --- realistic data ----------------------------------------------------------------


def user(n: int, *, team: str = "T1", name: str | None = None) -> UserRecord:
    return UserRecord(
        id=n,
        ref=UserRef("slack", team, f"U{n:08d}"),
        display_name=name if name is not None else f"Interviewer {n}",
        email=f"interviewer.{n}@contoso.com",
        tz="Europe/Berlin",
    )


def connection(state: str = "connected") -> ConnectionRecord:
    return ConnectionRecord(
        id=1,
        user_id=1,
        cronofy_sub="acc_5ba21743f408617d1269ea1e",
        provider_name="exchange",
        provider_service="office365",
        profile_name="maximiliana.konstantinopoulou@recruiting.emea.contoso-holdings.com",
        state=state,
        expires_at=NOW + timedelta(hours=1),
        connected_at=NOW - timedelta(days=30),
    )


def team_status(size: int) -> TeamStatus:
    """`size` people across every reason calbot reports, with details and long names."""
    reasons = [r for r in REASONS] + ["connected"]
    details = {
        "consent_blocked": "Need admin approval (AADSTS90094) since 2 Mar",
        "failed": "sign-in failed: AADSTS50105 user not assigned",
        "stalled": "opened the link 3 days ago",
        "link_sent": "link sent Mon 10:42",
    }
    people = []
    for i in range(size):
        reason = reasons[i % len(reasons)]
        name = LONG_NAME if i % 7 == 0 else f"Person number {i}"
        member = Member(UserRef("slack", "T1", f"U{i:08d}"), ChatProfile(display_name=name))
        people.append(MemberStatus(member, reason, details.get(reason, "")))
    return TeamStatus(
        label="#interviewers-emea-and-apac-hiring-panel",
        connected=[p for p in people if p.reason == "connected"],
        missing=[p for p in people if p.reason != "connected"],
        excluded=Counter({"bots": 3, "guests": 12, "deactivated": 40}),
    )


def incident(
    failure_class: str, state: str, *, people: int = 3, generation: int = 1
) -> IncidentRecord:
    affected = [user(n, name=LONG_NAME if n == 1 else None) for n in range(1, people + 1)]
    reports = tuple(
        ReportRecord(
            user=u,
            kind="pasted" if n % 2 else "oauth_error",
            failure_class=failure_class,
            confidence="high",
            created_at=NOW - timedelta(hours=n),
            generation=generation,
            code="AADSTS90094",
            correlation_id=f"b2c1e2f4-7c1a-4f7e-9d1b-{n:012d}",
            request_id=f"1d0b2a3c-0f5e-4a6b-8c7d-{n:012d}",
            occurred_at=NOW - timedelta(hours=n),
            attachment="F0123ABC" if n == 1 else None,
        )
        for n, u in enumerate(affected, start=1)
    )
    return IncidentRecord(
        id=42,
        platform="slack",
        workspace_id="T1",
        tenant=TENANT,
        tenant_domain="recruiting.emea.contoso-holdings.com",
        failure_class=failure_class,
        state=state,
        version=3,
        generation=generation,
        created_at=NOW - timedelta(days=2),
        fixed_at=NOW - timedelta(hours=1) if state == "fixed" else None,
        fixed_by="<@U00000002|Bob Admin>" if state == "fixed" else None,
        reports=reports,
        connected_user_ids=frozenset({2}),
    )


@dataclass(frozen=True)
class Panel:
    proposal: ProposalRecord
    me: ParticipantRecord


def proposal(
    state: str = "open",
    *,
    slots: int = 5,
    panel: int = 4,
    answers: bool = True,
    booked: bool = False,
    none_work: bool = False,
) -> Panel:
    participants = tuple(
        ParticipantRecord(
            id=p,
            user=user(10 + p, name=LONG_NAME if p == 2 else None),
            role="required" if p < 3 else "pool",
            position=p,
            state="none_work" if none_work and p == 1 else ("replaced" if p == 4 else "invited"),
        )
        for p in range(1, panel + 1)
    )
    start = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    slot_records = tuple(
        SlotRecord(
            id=s,
            start=start + timedelta(days=s // 4, hours=2 * (s % 4)),
            end=start + timedelta(days=s // 4, hours=2 * (s % 4), minutes=45),
            state="conflict" if s == slots else ("booked" if booked and s == 1 else "open"),
        )
        for s in range(1, slots + 1)
    )
    responses: dict[tuple[int, int], str] = {}
    if answers:
        for slot in slot_records:
            for p in participants[:2]:
                responses[(slot.id, p.id)] = "accept" if (slot.id + p.id) % 2 else "decline"
    record = ProposalRecord(
        id=7001,
        platform="slack",
        workspace_id="T1",
        coordinator=user(2, name="Robin Recruiter"),
        candidate_name="Jordan Candidate-Smith",
        candidate_email="jordan.candidate@example.org",
        title="Senior Backend Engineer — onsite loop, system design",
        request={"duration": 45, "tz": "America/New_York", "pool_required": 1},
        state=state,
        version=2,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=48),
        participants=participants,
        slots=slot_records,
        responses=responses,
        booked_slot_id=1 if booked else None,
        booking_state=None,
    )
    return Panel(record, participants[0])


def remedy(failure_class: str, people: int = 3) -> Any:
    users = tuple(f"interviewer.{n}@contoso.com" for n in range(1, people + 1))
    return ADVISOR.remedy(failure_class, tenant=TENANT, users=users)


# --- the cards -----------------------------------------------------------------------


def connect_cards() -> Iterator[tuple[str, Message]]:
    url = "https://calbot.example.com/connect/" + "t" * 43
    yield "help", cards.help_card()
    yield "link", cards.connect_link_card(url, expires="Mon 9 Mar, 09:30 (Europe/Berlin)")
    yield (
        "link asked",
        cards.connect_link_card(
            url, expires="in 7 days", asked_by=f"<@U00000002|{LONG_NAME}>", intro="Reminder:"
        ),
    )
    yield (
        "connected",
        cards.connected_card(
            provider="Microsoft 365",
            account=connection().profile_name,
            chat_name=LONG_NAME,
            when=cards.fmt_when(NOW, "Asia/Kolkata"),
        ),
    )
    yield (
        "already",
        cards.already_connected_card(
            provider="Microsoft 365", account=connection().profile_name, since="2 Feb 2026"
        ),
    )
    yield "failed", cards.connect_failed_card("Microsoft said: AADSTS65001 " + "x" * 2000)
    yield "superseded", cards.link_superseded_card()
    yield "disconnected", cards.disconnected_card("Google", "someone@gmail.com")


def status_messages() -> Iterator[tuple[str, Message]]:
    team = TeamRef("channel", "C0123456789", "interviewers")
    for size in (0, 1, 3, 16, 45, 300):
        for i, page in enumerate(
            status_cards.team_report_pages(team_status(size), team, updated="10:42 UTC")
        ):
            yield f"report {size} p{i + 1}", page
    everyone = TeamStatus(label="#ok", connected=team_status(12).connected)
    yield "all connected", status_cards.team_report_pages(everyone, team, updated="now")[0]
    yield "working", status_cards.working_on_it("#" + "very-long-channel-name" * 5)
    yield "progress", status_cards.nudge_progress(9_500, 400, 10_000, failed=100)
    yield "progress done", status_cards.nudge_progress(10, 0, 10)
    labels = ["#" + "very-long-channel-name" * 5, "@panel", "#hiring"]
    yield "digest settings", status_cards.digest_settings(labels, 80, next_at="Mon 30 Nov")
    lines = [TeamLine(f"channel:C{n}|{'x' * 120}", "#" + "x" * 120, n, 20) for n in range(12)] + [
        TeamLine("usergroup:S1", "@panel", 0, 0, problem="couldn't list its members")
    ]
    yield "digest", status_cards.weekly_digest(lines, 80, week_of="Mon 30 Nov 09:00 (UTC)")


def consent_messages() -> Iterator[tuple[str, Message]]:
    yield (
        "follow-up",
        consent_cards.follow_up_card(
            "Hi Maximiliana, you opened your calendar link 10 minutes ago."
        ),
    )
    for told in (True, False):
        yield (
            f"answer {told}",
            consent_cards.user_answer_card(
                "Need admin approval", remedy("user_consent_blocked").tell_user, admins_told=told
            ),
        )
    for failure_class in FailureClass:
        for state in ("open", "fixed", "resolved", "dismissed"):
            yield (
                f"alert {failure_class} {state}",
                consent_cards.alert_card(
                    incident(str(failure_class), state),
                    remedy(str(failure_class)),
                    reader_tz="America/Los_Angeles",
                    consent_option="B",
                ),
            )
    many = incident("admin_consent_required", "open", people=250, generation=2)
    yield (
        "alert 250 people, failed again",
        consent_cards.alert_card(
            many,
            remedy("admin_consent_required", people=250),
            reader_tz=None,
            new_record_request=" ".join(remedy("admin_consent_required").if_still_failing),
        ),
    )
    checklist = ADVISOR.support_checklist(
        tenant_domain="recruiting.emea.contoso-holdings.com",
        tenant_id=TENANT,
        attempts=[
            FailedAttempt(
                f"interviewer.{n}@contoso.com",
                NOW - timedelta(hours=n),
                "AADSTS90094",
                f"b2c1e2f4-7c1a-4f7e-9d1b-{n:012d}",
            )
            for n in range(60)
        ],
        anyone_connected=False,
        timezone="Europe/Berlin",
        failure_class="user_consent_blocked",
        consent_option="A",
    )
    yield "checklist", consent_cards.checklist_card(checklist)
    options = ADVISOR.consent_options()
    url = ADVISOR.admin_consent_url(TENANT)
    for chosen in (None, options[0][0]):
        yield f"onboarding {chosen}", consent_cards.onboarding_card(TENANT, url, options, chosen)


def propose_messages() -> Iterator[tuple[str, Message]]:
    for name, panel in (
        ("open", proposal()),
        ("open, most slots", proposal(slots=MAX_COUNT, panel=8)),
        ("open, nothing answered", proposal(slots=MAX_COUNT, answers=False)),
        ("none work", proposal(none_work=True)),
        ("booking", proposal("booking", booked=True)),
        ("booked", proposal("booked", booked=True)),
        ("cancelled", proposal("cancelled")),
        ("expired", proposal("expired")),
        ("failed", proposal("failed", slots=0)),
    ):
        yield f"offer {name}", propose_cards.offer_card(panel.proposal, panel.me, "Asia/Tokyo")
        yield f"tracking {name}", propose_cards.tracking_card(panel.proposal)
    names = [(f"U{n:08d}", LONG_NAME if n == 1 else f"Interviewer {n}") for n in range(30)]
    yield "not connected", propose_cards.not_connected_card(7001, names)
    yield "connect to accept", propose_cards.connect_to_accept()


ALL = [
    *connect_cards(),
    *status_messages(),
    *consent_messages(),
    *propose_messages(),
]


@pytest.mark.parametrize(("name", "message"), ALL, ids=[name for name, _ in ALL])
def test_card_is_valid_block_kit(name: str, message: Message) -> None:
    blocks = check_message(message)
    check_complete(message, blocks)


@pytest.mark.parametrize("admin", [False, True])
@pytest.mark.parametrize("state", [None, "connected", "needs_relink", "revoked"])
def test_home_tab_is_valid(state: str | None, admin: bool) -> None:
    message = home_card(
        name=LONG_NAME,
        connection=connection(state) if state else None,
        is_admin=admin,
        counts={"connected": 9_000, "needs_relink": 250, "revoked": 40} if admin else None,
    )
    view = home_view(message)
    assert view["type"] == "home"
    check_blocks(view["blocks"], max_blocks=HOME_BLOCKS)
    check_complete(message, view["blocks"])


def test_a_10000_person_report_is_paged_not_rejected() -> None:
    status = team_status(10_000)
    team = TeamRef("usergroup", "S0123456", "everyone")
    pages = status_cards.team_report_pages(status, team, updated="10:42 UTC", consent_option="B")
    assert len(pages) > 1
    rendered = [check_message(page) for page in pages]
    for page, blocks in zip(pages, rendered, strict=True):
        check_complete(page, blocks)
    text = "\n".join(b["text"]["text"] for blocks in rendered for b in blocks if "text" in b)
    missing = {m.member.user.user_id for m in status.missing}
    assert all(f"<@{uid}|" in text for uid in missing), "everyone missing is listed"
    # The buttons are on the last page only.
    assert [bool(p.buttons()) for p in pages] == [False] * (len(pages) - 1) + [True]


def test_checks_catch_what_slack_refuses() -> None:
    """The checks aren't vacuous: each of these is refused."""
    good = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "a"}
    bad: list[list[dict[str, Any]]] = [
        [good] * 51,
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [
            {
                "type": "actions",
                "elements": [{**button, "text": {"type": "plain_text", "text": "x" * 76}}],
            }
        ],
        [{"type": "actions", "elements": [{**button, "value": "v" * 2001}]}],
        [{"type": "actions", "elements": [{**button, "action_id": f"a{i}"} for i in range(26)]}],
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        [{"type": "actions", "elements": [button]}, {"type": "actions", "elements": [button]}],
    ]
    for blocks in bad:
        with pytest.raises(Exception):  # noqa: B017 - slack_sdk's error or ours
            check_blocks(blocks)
