"""`app.py doctor` against the mock Slack, the Cronofy sandbox and a running calbot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from integrations.ops import checks, doctor, service_checks
from integrations.ops.checks import Check, Context
from storage.crypto import generate_key
from storage.migrate import head_revision, upgrade
from tests.fakes.mock_slack import MockSlack
from tests.ops.support import run_app
from tests.support import TEST_KEY, RunningCalbot, free_port, make_settings

APP_ID = "6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b"


def _by_name(results: list[Check]) -> dict[str, Check]:
    return {r.name: r for r in results}


def _wired(calbot: RunningCalbot, slack: MockSlack, **overrides: object):
    """Settings for a deployment whose every part is up: mock Slack, sandbox, calbot."""
    values: dict[str, object] = {
        "PUBLIC_BASE_URL": calbot.url,
        "PORT": int(calbot.url.rsplit(":", 1)[1]),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "signing-secret",
        "SLACK_API_URL": slack.api_url,
        "SLACK_APP_TOKEN": "xapp-test",
        # Real-Cronofy mode, pointed at the sandbox: the same token request as production.
        "CRONOFY_CLIENT_ID": "calbot-sandbox",
        "CRONOFY_CLIENT_SECRET": "sandbox-secret",
        "CRONOFY_API_URL": calbot.sandbox_url,
    }
    values.update(overrides)
    return make_settings(calbot.runtime.settings.DATABASE_URL, **values)


async def test_everything_up_is_all_ticks(calbot: RunningCalbot) -> None:
    await calbot.connect_calendar("alice")
    async with MockSlack.running() as slack:
        results = await doctor.run_checks(Context(_wired(calbot, slack)))
    by = _by_name(results)
    assert [r.name for r in results] == [
        "configuration",
        "database",
        "encryption key",
        "slack",
        "slack socket mode",
        "teams",
        "cronofy",
        "public URL",
    ]
    assert {n: r.status for n, r in by.items() if r.status != "ok"} == {"teams": "skip"}
    assert f"at migration {head_revision()} (head)" in by["database"].detail
    assert "a stored token decrypts" in by["encryption key"].detail
    assert "workspace calbot test (T1) as @calbot" in by["slack"].detail
    assert "invalid_grant" in by["cronofy"].detail
    assert "not configured" in by["teams"].detail
    assert by["public URL"].detail == f"{calbot.url}/healthz answers"
    assert doctor.exit_code(results) == 0


async def test_refused_credentials_are_crosses_with_hints(calbot: RunningCalbot) -> None:
    async with MockSlack.running() as slack:
        settings = _wired(
            calbot,
            slack,
            SLACK_BOT_TOKEN="xoxb-revoked-or-wrong",
            SLACK_APP_TOKEN="xapp-wrong",
            CRONOFY_CLIENT_SECRET="not-the-secret",
        )
        results = await doctor.run_checks(Context(settings))
    by = _by_name(results)
    assert by["slack"].status == "fail" and by["slack"].detail == "auth.test: invalid_auth"
    assert "SLACK_BOT_TOKEN" in by["slack"].hint
    assert by["slack socket mode"].status == "fail"
    assert by["cronofy"].status == "fail" and "invalid_client" in by["cronofy"].detail
    assert doctor.exit_code(results) == 1
    table = doctor.format_table(results)
    for secret in ("xoxb-revoked-or-wrong", "xapp-wrong", "not-the-secret", "signing-secret"):
        assert secret not in table


async def test_sandbox_cronofy_and_unconfigured_surfaces_are_skipped(db_url: str) -> None:
    settings = make_settings(db_url, PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}")
    by = _by_name(await doctor.run_checks(Context(settings)))
    assert by["cronofy"].status == "skip" and by["cronofy"].detail.startswith("sandbox")
    assert by["slack"].status == "skip"
    assert "slack socket mode" not in by
    assert by["teams"].status == "skip"
    # Nothing serves anywhere: doctor ran before `serve`, which is a warning, not a failure.
    assert by["public URL"].status == "skip"
    assert "Run doctor while `serve` runs" in by["public URL"].detail


async def test_public_url_that_misses_a_running_server_fails(calbot: RunningCalbot) -> None:
    port = int(calbot.url.rsplit(":", 1)[1])
    settings = make_settings(
        calbot.runtime.settings.DATABASE_URL,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}",
        PORT=port,
    )
    result = await checks.public_url(Context(settings))
    assert result.status == "fail"
    assert f"calbot answers on port {port} here" in result.detail
    assert "load balancer" in result.hint


async def test_a_database_behind_the_code_fails_with_the_fix(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    await asyncio.to_thread(upgrade, url, "0002")
    by = _by_name(await doctor.run_checks(Context(make_settings(url))))
    assert by["database"].status == "fail"
    assert f"is at migration 0002, the code needs {head_revision()}" in by["database"].detail
    assert by["database"].hint == "run `python app.py db upgrade`"
    assert "stored tokens not checked" in by["encryption key"].detail


async def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.db"
    result = await checks.database(Context(make_settings(f"sqlite+aiosqlite:///{path}")))
    assert result.status == "fail" and "does not exist" in result.detail
    assert not path.exists()


async def test_unreachable_database_hides_the_password() -> None:
    port = free_port()
    url = f"postgresql+asyncpg://calbot:s3cret-pw@127.0.0.1:{port}/calbot"
    result = await checks.database(Context(make_settings(url)))
    assert result.status == "fail"
    assert "unreachable" in result.detail
    assert "s3cret-pw" not in result.detail and "***" in result.detail


async def test_a_stored_token_the_key_cannot_read_fails(calbot: RunningCalbot) -> None:
    await calbot.connect_calendar("alice")
    url = calbot.runtime.settings.DATABASE_URL
    ctx = Context(make_settings(url, TOKEN_ENCRYPTION_KEY=generate_key()), facts={"migrated": True})
    result = await checks.encryption_key(ctx)
    assert result.status == "fail"
    assert "cannot be decrypted" in result.detail and "keys rotate" in result.hint

    rotated = f"{generate_key()},{TEST_KEY}"  # a new key first, the old one still listed
    ctx = Context(make_settings(url, TOKEN_ENCRYPTION_KEY=rotated), facts={"migrated": True})
    result = await checks.encryption_key(ctx)
    assert result.status == "ok"
    assert result.detail.startswith("2 keys") and "older key (run keys rotate)" in result.detail


async def test_bot_framework_failure_is_a_cross_not_a_traceback(db_url: str) -> None:
    def refused(_settings) -> str:
        raise PermissionError(
            "Failed to get access token with error: invalid_client, error_description: "
            "AADSTS7000215: Invalid client secret provided."
        )

    settings = make_settings(
        db_url, MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="wrong-password"
    )
    result = await service_checks.teams(Context(settings, bot_token=refused))
    assert result.status == "fail"
    assert result.detail.startswith("token acquisition failed: PermissionError")
    assert "AADSTS7000215" in result.detail
    assert "wrong-password" not in result.detail + result.hint

    accepted = await service_checks.teams(Context(settings, bot_token=lambda _s: "token"))
    assert accepted.status == "ok" and "MultiTenant app" in accepted.detail


async def test_bot_framework_without_password_fails_before_any_network(db_url: str) -> None:
    def must_not_run(_settings) -> str:
        raise AssertionError("no token request without a password")

    settings = make_settings(db_url, MICROSOFT_APP_ID=APP_ID)
    result = await service_checks.teams(Context(settings, bot_token=must_not_run))
    assert result.status == "fail" and "MICROSOFT_APP_PASSWORD" in result.detail


async def test_a_hanging_login_is_cut_off() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await service_checks.in_daemon_thread(lambda: time.sleep(2), 0.05)
    assert time.monotonic() - started < 1


async def test_a_crashing_check_is_a_line(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_ctx: Context) -> Check:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "CHECKS", [("broken", broken)])
    results = await doctor.run_checks(Context(make_settings(db_url)))
    assert results[-1] == Check("broken", "fail", "check crashed: RuntimeError: boom")


def test_table_marks_and_ascii_fallback() -> None:
    results = [
        Check("configuration", "ok", "loaded"),
        Check("database", "fail", "behind", "run `python app.py db upgrade`"),
        Check("teams", "skip", "not configured"),
    ]
    table = doctor.format_table(results)
    assert "  ✓  configuration  loaded" in table
    assert "  ✗  database       behind" in table
    assert "→ run `python app.py db upgrade`" in table
    assert "  –  teams          not configured" in table
    assert table.endswith("1 problem found.")
    ascii_table = doctor.format_table(results, ascii_only=True)
    assert "FAIL  database" in ascii_table and "✗" not in ascii_table


def test_cli_prints_the_table_and_exits_1(tmp_path: Path) -> None:
    result = run_app(["doctor"], tmp_path, PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("calbot doctor\n")
    assert "✗  database" in result.stdout and "db upgrade" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "calbot.db").exists()


def test_cli_reports_a_bad_setting_as_the_first_cross(tmp_path: Path) -> None:
    result = run_app(["doctor"], tmp_path, PORT="not-a-port")
    assert result.returncode == 1
    assert "✗  configuration  PORT:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


async def test_a_malformed_key_is_a_cross_that_does_not_echo_it(db_url: str) -> None:
    settings = make_settings(db_url, TOKEN_ENCRYPTION_KEY="definitely-not-a-fernet-key")
    result = await checks.encryption_key(Context(settings))
    assert result.status == "fail" and "not a valid Fernet key" in result.detail
    assert "definitely-not" not in result.detail + result.hint
