"""`SlackChat` (the outbox's ChatPort) against the mock Web API, through the real SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import unused_port

from bot.errors import ChatError, ChatNotFound, ChatNotInstalled, ChatThrottled, ChatTransient
from bot.identity import ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Actions, Button, Message, Section, simple
from bot.records import OutboxItem
from integrations.slack.app import client_factory
from integrations.slack.auth import SingleWorkspaceTokens
from integrations.slack.chat import SlackChat
from tests.fakes.mock_slack import MockSlack
from tests.integrations.slack.conftest import ALICE, ALICE_EMAIL, Calbot

ALICE_REF = UserRef("slack", "T1", ALICE)


def make_chat(api_url: str, token: str = "xoxb-test") -> SlackChat:
    clients = client_factory(api_url)
    return SlackChat(SingleWorkspaceTokens(token, clients), clients)


@pytest.fixture
async def chat(slack: MockSlack) -> AsyncIterator[SlackChat]:
    yield make_chat(slack.api_url)


CARD = Message(
    text="Pick one",
    blocks=(
        Section(text="**Pick** one of [these](https://example.com/x?a=1&b=2)"),
        Actions(
            buttons=(
                Button(label="Again", action_id="connect.reconnect", value="self"),
                Button(label="Again", action_id="connect.reconnect", value="self"),
            )
        ),
    ),
)


async def test_send_dm_opens_the_im_and_posts_blocks(chat: SlackChat, slack: MockSlack) -> None:
    sent = await chat.send_dm(Recipient(ALICE_REF), CARD)
    channel = slack.dm_channel(ALICE)
    assert sent.platform == "slack"
    assert sent.ref["channel"] == channel and sent.ref["ts"]
    [post] = slack.calls_to("chat.postMessage")
    assert post.ok, post.response
    assert post.params["text"] == "Pick one"
    section = post.params["blocks"][0]["text"]["text"]
    assert section == "*Pick* one of <https://example.com/x?a=1&b=2|these>"
    ids = [e["action_id"] for e in post.params["blocks"][1]["elements"]]
    assert ids == ["connect.reconnect", "connect.reconnect#1"]
    assert [c.method for c in slack.calls] == [
        "auth.test",
        "conversations.open",
        "chat.postMessage",
    ]


async def test_update_edits_by_channel_and_ts(chat: SlackChat, slack: MockSlack) -> None:
    sent = await chat.send_dm(Recipient(ALICE_REF), CARD)
    await chat.update(sent, simple("Done"))
    [update] = slack.calls_to("chat.update")
    assert update.ok
    assert (update.params["channel"], update.params["ts"]) == (sent.ref["channel"], sent.ref["ts"])
    assert slack.messages[(sent.ref["channel"], sent.ref["ts"])].text == "Done"


async def test_profile_from_users_info(chat: SlackChat) -> None:
    profile = await chat.profile(ALICE_REF)
    assert profile == ChatProfile(
        display_name="Alice", email=ALICE_EMAIL, tz="Europe/London", is_admin=False
    )
    admin = await chat.profile(UserRef("slack", "T1", "U2"))
    assert admin.is_admin and admin.display_name == "Bob Admin"


async def test_429_surfaces_with_retry_after_and_no_hidden_retry(
    chat: SlackChat, slack: MockSlack
) -> None:
    await chat.profile(ALICE_REF)  # auth.test out of the way
    slack.fail_next(1, status=429, retry_after=7, method="chat.postMessage")
    with pytest.raises(ChatThrottled) as caught:
        await chat.send_dm(Recipient(ALICE_REF), CARD)
    assert caught.value.retry_after == 7
    assert len(slack.calls_to("chat.postMessage")) == 1  # the SDK did not retry it


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_is_transient(chat: SlackChat, slack: MockSlack, status: int) -> None:
    await chat.profile(ALICE_REF)
    slack.fail_next(1, status=status, method="conversations.open")
    with pytest.raises(ChatTransient):
        await chat.send_dm(Recipient(ALICE_REF), CARD)
    assert len(slack.calls_to("conversations.open")) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("not_in_channel", ChatNotInstalled),
        ("account_inactive", ChatNotInstalled),
        ("invalid_auth", ChatNotInstalled),
        ("token_revoked", ChatNotInstalled),
        ("channel_not_found", ChatNotFound),
        ("internal_error", ChatTransient),
        ("something_new", ChatError),
    ],
)
async def test_slack_errors_map_to_neutral_ones(
    chat: SlackChat, slack: MockSlack, error: str, expected: type[Exception]
) -> None:
    slack.fail_method("chat.postMessage", error)
    with pytest.raises(expected):
        await chat.send_dm(Recipient(ALICE_REF), CARD)


async def test_unknown_user_and_message_are_not_found(chat: SlackChat, slack: MockSlack) -> None:
    with pytest.raises(ChatNotFound):
        await chat.send_dm(Recipient(UserRef("slack", "T1", "UNOBODY")), CARD)
    with pytest.raises(ChatNotFound):
        await chat.profile(UserRef("slack", "T1", "UNOBODY"))
    gone = SentMessage("slack", {"channel": slack.dm_channel(ALICE), "ts": "1.000001"})
    with pytest.raises(ChatNotFound):
        await chat.update(gone, simple("x"))


async def test_revoked_token_is_not_installed(slack: MockSlack) -> None:
    slack.revoked.add("xoxb-test")
    with pytest.raises(ChatNotInstalled):
        await make_chat(slack.api_url).send_dm(Recipient(ALICE_REF), CARD)


async def test_network_error_is_transient() -> None:
    chat = make_chat(f"http://127.0.0.1:{unused_port()}/api/")
    with pytest.raises(ChatTransient):
        await chat.profile(ALICE_REF)


async def test_outbox_reschedules_after_a_429(calbot: Calbot) -> None:
    slack, runtime = calbot.slack, calbot.runtime
    user = await runtime.store.upsert_user(ALICE_REF)
    await runtime.store.enqueue(
        [OutboxItem("t:1", "slack", simple("hello").to_json(), Recipient(user.ref))]
    )
    slack.fail_next(1, status=429, retry_after=30, method="chat.postMessage")
    await runtime.outbox.deliver_due()
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429]
    due = await runtime.store.next_due()
    assert due is not None and due > runtime.clock.now() + timedelta(seconds=25)
    state = await runtime.store.outbox_state("t:1")
    assert state is not None and state.sent_ref is None


# --- rosters ----------------------------------------------------------------------------


def _ids(members: list[Member]) -> list[str]:
    return [m.user.user_id for m in members]


async def test_members_of_a_usergroup(chat: SlackChat, slack: MockSlack) -> None:
    slack.add_user("UBOT", name="helper", is_bot=True)
    slack.add_user("UGONE", name="gone", deleted=True)
    slack.add_user("UGUEST", name="guest", is_restricted=True)
    slack.add_usergroup("S1", [ALICE, "UBOT", "UGONE", "UGUEST", ALICE])
    members = await chat.members("T1", TeamRef("usergroup", "S1", "interviewers"))
    assert _ids(members) == [ALICE, "UBOT", "UGONE", "UGUEST"]
    alice, bot, gone, guest = (m.profile for m in members)
    assert alice.email == ALICE_EMAIL and not (alice.is_bot or alice.deleted or alice.is_guest)
    assert bot.is_bot and gone.deleted and guest.is_guest
    assert members[0].user == ALICE_REF


async def test_members_of_a_big_channel_page_through_users_list(
    chat: SlackChat, slack: MockSlack
) -> None:
    ids = [f"U{n:04d}" for n in range(120)]
    for user_id in ids:
        slack.add_user(user_id, email=f"{user_id.lower()}@contoso.com")
    slack.add_channel("C9", ids, name="everyone")
    slack.page_cap = 50
    members = await chat.members("T1", TeamRef("channel", "C9", "everyone"))
    assert _ids(members) == ids
    assert len(slack.calls_to("conversations.members")) == 3
    assert slack.calls_to("users.info") == []  # one users.list pass instead of 120 lookups
    pages = slack.calls_to("users.list")
    assert len(pages) == 3 and all(int(p.params["limit"]) <= 200 for p in pages)


async def test_members_of_the_workspace(chat: SlackChat, slack: MockSlack) -> None:
    assert sorted(_ids(await chat.members("T1", TeamRef("workspace", "")))) == [ALICE, "U2"]


async def test_roster_waits_out_a_short_rate_limit(chat: SlackChat, slack: MockSlack) -> None:
    slack.add_channel("C1", [ALICE, "U2"])
    await chat.profile(ALICE_REF)
    slack.fail_next(1, status=429, retry_after=0.05, method="conversations.members")
    members = await chat.members("T1", TeamRef("channel", "C1"))
    assert _ids(members) == [ALICE, "U2"]
    assert [c.status for c in slack.calls_to("conversations.members")] == [429, 200]


async def test_roster_gives_up_on_a_long_rate_limit(chat: SlackChat, slack: MockSlack) -> None:
    slack.add_channel("C1", [ALICE])
    slack.fail_next(1, status=429, retry_after=120, method="conversations.members")
    with pytest.raises(ChatThrottled):
        await chat.members("T1", TeamRef("channel", "C1"))


async def test_roster_problems_are_neutral(chat: SlackChat, slack: MockSlack) -> None:
    slack.add_channel("G1", [ALICE], private=True, bot_member=False)
    with pytest.raises(ChatNotFound):
        await chat.members("T1", TeamRef("usergroup", "SNOPE"))
    with pytest.raises(ChatNotFound):
        await chat.members("T1", TeamRef("channel", "G1"))
    with pytest.raises(ChatNotFound):
        await chat.members("T1", TeamRef("channel", "CNOPE"))


async def test_post_to_channel_for_consent_alerts_and_edit_it(
    chat: SlackChat, slack: MockSlack
) -> None:
    slack.add_channel("C_ALERTS", [ALICE], name="calendar-admins")
    sent = await chat.post_to_channel("T1", "C_ALERTS", CARD)
    [post] = slack.calls_to("chat.postMessage")
    assert post.ok and post.params["channel"] == "C_ALERTS"
    await chat.update(sent, simple("Resolved"))
    assert slack.messages[(sent.ref["channel"], sent.ref["ts"])].text == "Resolved"
