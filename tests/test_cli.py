"""The operator interface as a newcomer meets it: `app.py demo`, `serve`, `db upgrade`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storage.migrate import head_revision
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path, *, stdin: str = "", timeout: float = 90, **env: str):
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_", "CRONOFY_", "CALBOT_"))
        and k not in {"DATABASE_URL", "TOKEN_ENCRYPTION_KEY", "PUBLIC_BASE_URL", "PORT"}
    }
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def test_scripted_demo_connects_alice(tmp_path: Path) -> None:
    port = free_port()
    result = _run(
        ["demo"],
        tmp_path,
        stdin="/calendar connect\n1\na\n/calendar status\nquit\n",
        PORT=str(port),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "I've sent you a DM" in out
    assert "Browser: Your calendar is connected (HTTP 200)" in out
    assert "--- DM edited to alice (#1) ---" in out
    assert "Connected: Office 365 (alice@contoso.com)" in out
    assert "Your calendar is connected: Office 365 (alice@contoso.com)." in out
    assert "Traceback" not in out + result.stderr
    assert (tmp_path / "calbot.db").exists()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = _run(["serve"], tmp_path, PORT=str(free_port()))
    assert result.returncode == 1
    assert "python app.py db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    current = _run(["db", "current"], tmp_path)
    assert current.stdout.strip() == head_revision()


def test_a_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = _run(["serve"], tmp_path, PORT="not-a-port")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("calbot: configuration error: PORT")


def test_keys_rotate_reencrypts_with_the_new_key(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    old = Fernet.generate_key().decode()
    port = str(free_port())
    demo = _run(
        ["demo"],
        tmp_path,
        stdin="/calendar connect\n1\na\nquit\n",
        PORT=port,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        TOKEN_ENCRYPTION_KEY=old,
    )
    assert "Connected: Office 365" in demo.stdout, demo.stderr
    new = _run(["keys", "generate"], tmp_path).stdout.strip()
    rotated = _run(["keys", "rotate"], tmp_path, TOKEN_ENCRYPTION_KEY=f"{new},{old}")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted" in rotated.stdout

    import sqlite3

    with sqlite3.connect(tmp_path / "calbot.db") as db:
        (access,) = db.execute("SELECT access_token_enc FROM calendar_connections").fetchone()
    assert Fernet(new.encode()).decrypt(access.encode())
    import pytest
    from cryptography.fernet import InvalidToken

    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(access.encode())
