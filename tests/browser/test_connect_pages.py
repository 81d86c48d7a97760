"""The connect pages as a person sees them: a real browser from the DM's link to the result.

The link comes from a console DM; Chromium opens it, lands on the Cronofy sandbox's
stand-in for Microsoft's sign-in, fills in the e-mail and presses a button, and ends on
calbot's own page. Every page is checked for the basics (title, language, one heading,
no stack trace) and every page under ``/connect/`` or the callback for the headers that
keep a personal link out of caches and Referer headers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Page, Response, expect
from sqlalchemy import update

from bot.connect import hash_token
from storage.models import ConnectLink
from tests.support import RunningCalbot

CALLBACK = "/oauth/cronofy/callback"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def connect_link(calbot: RunningCalbot, user: str = "alice") -> str:
    """`/calendar connect` at the console; the personal link from the DM it sends."""
    session = calbot.session(user)
    await session.say("/calendar connect")
    await calbot.settle()
    url = session.last_dm().message.buttons()[0].url
    assert url and url.startswith(f"{calbot.url}/connect/")
    return url


async def assert_page_basics(page: Page) -> None:
    """Title, `lang="en"`, exactly one <h1>, and nothing that looks like a crash."""
    assert (await page.title()).strip(), f"{page.url} has no <title>"
    assert await page.locator("html").get_attribute("lang") == "en"
    await expect(page.locator("h1")).to_have_count(1)
    html = await page.content()
    for word in ("Traceback", "Exception", 'File "'):
        assert word not in html, f"{page.url} shows {word!r}"


def assert_private(response: Response) -> None:
    headers = response.headers
    assert headers.get("cache-control") == "no-store", response.url
    assert headers.get("referrer-policy") == "no-referrer", response.url


async def open_sign_in(page: Page, calbot: RunningCalbot, link: str) -> None:
    """Follow the link to the sandbox's sign-in page, checking the redirect on the way."""
    response = await page.goto(link)
    assert response is not None and response.status == 200
    assert page.url.startswith(f"{calbot.sandbox_url}/oauth/authorize?")
    redirected_from = response.request.redirected_from
    assert redirected_from is not None and redirected_from.url == link
    redirect = await redirected_from.response()
    assert redirect is not None and redirect.status == 302
    assert_private(redirect)
    await assert_page_basics(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Office 365")


async def press(page: Page, button: str) -> Response:
    """Press a button on the sign-in page; the response of calbot's callback it leads to."""
    async with page.expect_response(lambda r: urlsplit(r.url).path == CALLBACK) as answer:
        await page.get_by_role("button", name=button, exact=True).click()
    response = await answer.value
    await page.wait_for_load_state()
    return response


async def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000, f"{path} is not a screenshot"


async def test_accept_shows_success_page_and_edits_the_dm(
    calbot: RunningCalbot, page: Page, tmp_path: Path
) -> None:
    link = await connect_link(calbot)
    alice = calbot.session("alice")
    dm = alice.last_dm()

    await open_sign_in(page, calbot, link)
    email = page.get_by_label("Email")
    await expect(email).to_be_visible()
    await email.fill("alice@contoso.com")
    await page.screenshot(path=tmp_path / "sign-in.png", full_page=True)

    response = await press(page, "Accept")
    assert response.status == 200
    assert_private(response)
    assert page.url.startswith(f"{calbot.url}{CALLBACK}?")
    await assert_page_basics(page)
    await expect(page.locator("h1#result")).to_have_text("Your calendar is connected")
    await expect(page.locator("#provider")).to_have_text("Office 365")
    await expect(page.locator("#account")).to_have_text("alice@contoso.com")
    await expect(page.locator("#chat-user")).to_have_text("Alice")
    await expect(page).to_have_title(re.compile("connected", re.I))
    await page.screenshot(path=tmp_path / "connected.png", full_page=True)

    await assert_png(tmp_path / "sign-in.png")
    await assert_png(tmp_path / "connected.png")

    await calbot.settle()
    assert alice.last_dm().id == dm.id, "the DM with the link is edited, not a new one sent"
    assert alice.last_dm().message.text == "Connected: Office 365 (alice@contoso.com)"


async def test_cancel_shows_failure_page_and_offers_a_new_link(
    calbot: RunningCalbot, page: Page
) -> None:
    link = await connect_link(calbot, "bob")
    await open_sign_in(page, calbot, link)

    response = await press(page, "Cancel")
    assert response.status == 400
    assert_private(response)
    await assert_page_basics(page)
    await expect(page.locator("h1#result")).to_have_text("Connecting your calendar didn't finish")
    await expect(page.locator("#detail")).to_contain_text("try again")
    await expect(page.locator("body")).to_contain_text("/calendar connect")

    await calbot.settle()
    dm = calbot.session("bob").last_dm()
    assert dm.edits == 1
    assert "didn't finish" in dm.message.text
    assert [b.label for b in dm.message.buttons()][-1] == "Get a new link"


async def test_unknown_link_explains_how_to_get_a_new_one(
    calbot: RunningCalbot, page: Page
) -> None:
    response = await page.goto(f"{calbot.url}/connect/not-a-real-token")
    assert response is not None and response.status == 404
    assert_private(response)
    await assert_page_basics(page)
    await expect(page.locator("h1#result")).to_have_text("This link isn't valid")
    await expect(page.locator("body")).to_contain_text("To get a new link")
    await expect(page.locator("body")).to_contain_text("/calendar connect")


async def test_link_used_twice_says_so(calbot: RunningCalbot, page: Page) -> None:
    link = await connect_link(calbot)
    await open_sign_in(page, calbot, link)
    await page.get_by_label("Email").fill("alice@contoso.com")
    assert (await press(page, "Accept")).status == 200

    response = await page.goto(link)
    assert response is not None and response.status == 410
    assert_private(response)
    await assert_page_basics(page)
    await expect(page.locator("h1#result")).to_have_text("This link was already used")
    await expect(page.locator("body")).to_contain_text("To get a new link")


async def test_expired_link_says_so(calbot: RunningCalbot, page: Page) -> None:
    link = await connect_link(calbot)
    token = urlsplit(link).path.rsplit("/", 1)[-1]
    past = calbot.runtime.clock.now() - timedelta(minutes=1)
    async with calbot.runtime.engine.begin() as conn:
        result = await conn.execute(
            update(ConnectLink)
            .where(ConnectLink.token_hash == hash_token(token))
            .values(expires_at=past)
        )
        assert result.rowcount == 1

    response = await page.goto(link)
    assert response is not None and response.status == 410
    assert_private(response)
    await assert_page_basics(page)
    await expect(page.locator("h1#result")).to_have_text("This link has expired")
    await expect(page.locator("#detail")).to_contain_text("7 days")
    await expect(page.locator("body")).to_contain_text("To get a new link")


async def test_forged_callback_is_refused(calbot: RunningCalbot, page: Page) -> None:
    response = await page.goto(f"{calbot.url}{CALLBACK}?code=x&state=forged")
    assert response is not None and response.status == 400
    assert_private(response)
    await assert_page_basics(page)
    await expect(page.locator("h1#result")).to_have_text("We couldn't verify this sign-in")
    await expect(page.locator("#detail")).to_contain_text("Nothing was connected")
