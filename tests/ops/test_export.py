"""`app.py export`: a team's connection status as CSV, from the same core as the report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from bot.identity import ChatProfile, TeamRef
from integrations.ops.export import COLUMNS, parse_team, team_rows, to_csv
from tests.ops.support import run_app
from tests.support import RunningCalbot


def _org(calbot: RunningCalbot) -> None:
    chat = calbot.console
    chat.profiles.update(
        {
            "alice": ChatProfile("Alice Admin", "alice@contoso.com", "Europe/London", True),
            "bob": ChatProfile("Bob Baker", "bob@contoso.com", "Europe/London"),
            "carol": ChatProfile("Carol Chen", "carol@contoso.com", "America/New_York"),
            "dan": ChatProfile('=HYPERLINK("http://evil")', "dan@contoso.com"),
            "helper": ChatProfile("Helper Bot", is_bot=True),
        }
    )
    chat.channels["interviewers"] = ["alice", "bob", "carol", "dan", "helper"]


async def _rows(calbot: RunningCalbot, team: TeamRef):
    runtime = calbot.runtime
    return await team_rows(
        chat=calbot.console,
        store=runtime.store,
        clock=runtime.clock,
        platform="console",
        workspace_id="local",
        team=team,
        stalled_after=timedelta(minutes=10),
    )


async def test_csv_lists_everyone_with_status_reason_and_account(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.connect_calendar("alice")
    await calbot.session("carol").say("/calendar connect")  # link sent, never opened
    await calbot.settle()

    text = to_csv(await _rows(calbot, parse_team("#interviewers")))
    table = list(csv.DictReader(io.StringIO(text)))
    assert tuple(table[0]) == COLUMNS
    by_id = {row["user_id"]: row for row in table}
    assert set(by_id) == {"alice", "bob", "carol", "dan", "helper"}

    alice = by_id["alice"]
    assert alice["status"] == "connected" and alice["reason"] == "Connected"
    assert alice["provider"] == "Office 365" and alice["account"] == "alice@contoso.com"
    assert alice["email"] == "alice@contoso.com" and alice["name"] == "Alice Admin"

    carol = by_id["carol"]
    assert (carol["status"], carol["reason"]) == ("link_sent", "Link sent, not opened yet")
    assert carol["detail"].startswith("sent once") and carol["provider"] == ""

    assert (by_id["bob"]["status"], by_id["bob"]["reason"]) == (
        "never_connected",
        "Never connected",
    )
    assert (by_id["helper"]["status"], by_id["helper"]["reason"]) == (
        "excluded",
        "Not counted: bot",
    )
    # A display name is user-controlled: it must not run as a spreadsheet formula.
    assert by_id["dan"]["name"] == '\'=HYPERLINK("http://evil")'


async def test_csv_agrees_with_the_chat_report(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.connect_calendar("bob")
    rows = await _rows(calbot, parse_team("#interviewers"))
    counted = [r for r in rows if r.status != "excluded"]
    connected = [r for r in counted if r.status == "connected"]
    alice = calbot.session("alice")
    await alice.say("/calendar team", channel="interviewers")
    await calbot.settle()
    body = "\n".join(getattr(b, "text", "") for b in alice.last_dm().message.blocks)
    assert f"{len(connected)} of {len(counted)} connected" in body


def test_team_arguments() -> None:
    assert parse_team("everyone") == TeamRef("workspace", "", "everyone")
    assert parse_team("#interviewers") == TeamRef("channel", "interviewers", "#interviewers")
    assert parse_team("usergroup:S0123ABC").kind == "usergroup"
    assert parse_team("S0123ABC") == TeamRef("usergroup", "S0123ABC", "S0123ABC")
    assert parse_team("C0123ABC").kind == "channel"
    teams_chat = "19:abc123@thread.tacv2"
    assert parse_team(teams_chat) == TeamRef("conversation", teams_chat, teams_chat)
    assert parse_team(f"conversation:{teams_chat}").id == teams_chat


def test_cli_exports_the_demo_roster(tmp_path: Path) -> None:
    assert run_app(["db", "upgrade"], tmp_path).returncode == 0
    result = run_app(["export", "--team", "#interviewers", "--platform", "console"], tmp_path)
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["user_id"] for r in table] == ["alice", "bob", "carol", "dan", "erin", "standup-bot"]
    assert {r["status"] for r in table} == {"never_connected", "excluded"}


def test_cli_unknown_channel_is_one_line(tmp_path: Path) -> None:
    assert run_app(["db", "upgrade"], tmp_path).returncode == 0
    result = run_app(["export", "--team", "#nope", "--platform", "console"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("calbot: couldn't list #nope")
    assert "Traceback" not in result.stderr
