"""The team report stays inside every platform's limits, however large the team."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from bot.identity import ChatProfile, Member, TeamRef, UserRef
from bot.status_cards import MAX_BLOCKS, MAX_PAGE_CHARS, team_report_pages
from bot.sync_status import MemberStatus, TeamStatus


def _status(n: int) -> TeamStatus:
    members = [
        MemberStatus(
            Member(UserRef("slack", "T1", f"U{i:05}"), ChatProfile(f"Person number {i}")),
            "never_connected",
        )
        for i in range(n)
    ]
    return TeamStatus(label="#everyone", missing=members, excluded=Counter())


def test_a_10000_person_report_is_paged_within_limits() -> None:
    pages = team_report_pages(_status(10_000), TeamRef("channel", "C1"), updated="now")
    assert len(pages) > 1
    for page in pages:
        assert len(page.blocks) <= 50
        assert sum(len(getattr(b, "text", "") or "") for b in page.blocks) <= MAX_PAGE_CHARS + 3000
        for block in page.blocks:
            assert len(getattr(block, "text", "") or "") <= 3000
    text = "\n".join(getattr(b, "text", "") for p in pages for b in p.blocks)
    assert "U00000" in text and "U09999" in text, "nobody is left out"
    assert MAX_BLOCKS <= 50


def test_the_first_page_has_the_summary_and_buttons_on_the_last() -> None:
    pages = team_report_pages(_status(3), TeamRef("channel", "C1"), updated="now")
    assert len(pages) == 1
    assert "0 of 3 connected" in pages[0].blocks[1].text  # type: ignore[union-attr]
    assert [b.label for b in pages[0].buttons()][-2:] == ["Nudge all not connected (3)", "Refresh"]
    assert datetime.now(UTC)
