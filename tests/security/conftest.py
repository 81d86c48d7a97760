"""Fixtures for the security tests.

`calbot` (tests/conftest.py) is calbot with the console chat; `slackbot` is calbot with
Slack on, served on a real port and talking to a mock Slack Web API, exactly as in
tests/integrations/slack (same helpers, so a request here is a request there).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.mock_slack import MockSlack
from tests.integrations.slack.conftest import ALICE, ALICE_EMAIL, Calbot, running_calbot

ADMIN = "U2"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stray SLACK_*/CRONOFY_* variables would switch modes (OAuth, real Cronofy).
    for name in list(os.environ):
        if name.startswith(("SLACK_", "CRONOFY_", "MICROSOFT_", "CALBOT_")):
            monkeypatch.delenv(name)


@pytest.fixture
async def mock_slack() -> AsyncIterator[MockSlack]:
    async with MockSlack.running() as mock:
        mock.add_user(ALICE, name="alice", real_name="Alice Example", email=ALICE_EMAIL)
        mock.add_user(
            ADMIN, name="bob", real_name="Bob Admin", email="bob@contoso.com", is_admin=True
        )
        yield mock


@pytest.fixture
async def slackbot(tmp_path: Path, mock_slack: MockSlack, clean_env: None) -> AsyncIterator[Calbot]:
    async with running_calbot(tmp_path, mock_slack) as app:
        yield app
