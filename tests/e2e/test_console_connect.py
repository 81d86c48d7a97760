"""The connect flow as a person at the console would do it, against the Cronofy sandbox."""

from __future__ import annotations

from tests.support import RunningCalbot


async def test_connect_from_command_to_edited_dm(calbot: RunningCalbot) -> None:
    alice = calbot.session("alice")

    reply = await alice.say("/calendar connect")
    assert "sent you a DM" in reply.text
    await calbot.settle()

    dm = alice.last_dm()
    [button] = dm.message.buttons()
    assert button.label == "Connect your calendar"
    assert button.url and button.url.startswith(f"{calbot.url}/connect/")

    visit = await alice.follow_connect_link(button.url, sandbox_url=calbot.sandbox_url)
    assert visit.status == 200
    assert visit.title == "Your calendar is connected"
    await calbot.settle()

    assert alice.last_dm().id == dm.id, "the same DM is edited, no new message"
    assert alice.last_dm().edits == 1
    assert alice.last_dm().message.text == "Connected: Office 365 (alice@contoso.com)"
    assert [b.label for b in alice.last_dm().message.buttons()] == ["Not me? Disconnect"]

    status = await alice.say("/calendar status")
    assert "connected: Office 365 (alice@contoso.com)" in status.text


async def test_already_connected_offers_reconnect_and_disconnect(calbot: RunningCalbot) -> None:
    alice = calbot.session("alice")
    await alice.say("/calendar connect")
    await calbot.settle()
    url = alice.last_dm().message.buttons()[0].url
    assert url
    await alice.follow_connect_link(url, sandbox_url=calbot.sandbox_url)
    await calbot.settle()

    reply = await alice.say("/calendar connect")
    assert "already connected" in reply.text
    await calbot.settle()
    labels = [b.label for b in alice.last_dm().message.buttons()]
    assert labels == ["Reconnect", "Disconnect"]

    disconnect = alice.last_dm().message.buttons()[1]
    answer = await alice.press(disconnect)
    assert answer is not None and "Disconnected" in answer.text
    user = await calbot.runtime.store.find_user(alice.actor().user)
    assert user is not None
    assert await calbot.runtime.store.get_connection(user.id) is None


async def test_link_is_single_use(calbot: RunningCalbot) -> None:
    alice = calbot.session("alice")
    await alice.say("/calendar connect")
    await calbot.settle()
    url = alice.last_dm().message.buttons()[0].url
    assert url
    await alice.follow_connect_link(url, sandbox_url=calbot.sandbox_url)

    again = await alice.follow_connect_link(url, sandbox_url=calbot.sandbox_url)
    assert again.status == 410
    assert again.title == "This link was already used"


async def test_cancelled_sign_in_is_explained_in_the_same_dm(calbot: RunningCalbot) -> None:
    bob = calbot.session("bob")
    await bob.say("/calendar connect")
    await calbot.settle()
    url = bob.last_dm().message.buttons()[0].url
    assert url
    visit = await bob.follow_connect_link(url, sandbox_url=calbot.sandbox_url, decision="cancel")
    assert visit.status == 400
    await calbot.settle()
    dm = bob.last_dm()
    assert dm.edits == 1
    assert "didn't finish" in dm.message.text
    assert [b.label for b in dm.message.buttons()] == [
        "Need admin approval",
        "Admin consent required",
        "This app is blocked",
        "I cancelled",
        "Something else",
        "Get a new link",
    ]
    user = await calbot.runtime.store.find_user(bob.actor().user)
    assert user is not None
    assert await calbot.runtime.store.get_connection(user.id) is None

    # Bob says he cancelled: that's his to retry, no admin is bothered.
    cancelled = next(b for b in dm.message.buttons() if b.label == "I cancelled")
    answer = await bob.press(cancelled)
    assert answer is not None and "Get a new link" in [b.label for b in answer.buttons()]
