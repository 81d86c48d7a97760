"""Every card calbot can produce, rendered for Teams and validated against the official
Adaptive Cards 1.5 JSON schema (vendored under tests/schemas/adaptive-cards) and Teams'
card size limit. The card set is the same one the Block Kit test renders for Slack."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.home import home_card
from bot.messages import Message
from bot.propose_form import propose_form
from integrations.teams.form_card import render_form
from integrations.teams.render import render_card
from tests.integrations.slack.test_block_kit import (
    connect_cards,
    connection,
    consent_messages,
    propose_messages,
    status_messages,
)

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2]
    / "schemas"
    / "adaptive-cards"
    / "adaptive-card-1.5.schema.json"
)
SCHEMA = json.loads(SCHEMA_FILE.read_text())
VALIDATOR = jsonschema.Draft6Validator(SCHEMA)
MAX_CARD_BYTES = 28 * 1024  # Teams' limit for a message with a card


def _cases() -> list[tuple[str, Message]]:
    cases = [*connect_cards(), *status_messages(), *consent_messages(), *propose_messages()]
    for state in (None, "connected", "needs_relink"):
        for admin in (False, True):
            cases.append(
                (
                    f"home-{state}-{admin}",
                    home_card(
                        name="Alice",
                        connection=connection(state) if state else None,
                        is_admin=admin,
                        counts={"connected": 3, "needs_relink": 1} if admin else None,
                    ),
                )
            )
    return cases


def _check(card: dict[str, Any]) -> None:
    size = len(json.dumps(card).encode())
    assert size <= MAX_CARD_BYTES, f"{size} bytes"
    card = _without_teams_extensions(card)
    errors = sorted(VALIDATOR.iter_errors(card), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert card["version"] == "1.5"


@pytest.mark.parametrize(
    ("name", "message"), _cases(), ids=lambda v: v if isinstance(v, str) else ""
)
@pytest.mark.parametrize("actions", ["submit", "execute"])
def test_every_card_validates_against_adaptive_cards_1_5(
    name: str, message: Message, actions: str
) -> None:
    _check(render_card(message, actions=actions))  # type: ignore[arg-type]


def _without_teams_extensions(card: dict[str, Any]) -> dict[str, Any]:
    """Teams documents two extensions the 1.5 schema does not describe: the card-level
    `msteams` object (full width, mention entities) and the people picker's
    `choices.data` (Data.Query). They are removed; everything else is checked as sent."""
    stripped = copy.deepcopy(card)
    stripped.pop("msteams", None)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Input.ChoiceSet":
                node.pop("choices.data", None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(stripped)
    return stripped


def test_the_propose_form_validates_with_and_without_errors() -> None:
    form = propose_form("Europe/London", date(2026, 11, 27))
    _check(render_form(form))
    marked = render_form(
        form,
        values={"candidate": "", "duration": "500", "required": ["a1"]},
        errors={"candidate": "Who is the candidate?", "duration": "15 to 240 minutes."},
        names={"a1": "Ann Able"},
    )
    _check(marked)


def test_the_schema_really_checks_something() -> None:
    bad = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]}
    assert list(VALIDATOR.iter_errors(bad)), "a TextBlock without text must be refused"
