"""The Block Kit renderer: markdown conversion, Slack's limits, unique action ids."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock, SectionBlock

from bot import cards
from bot.messages import (
    Actions,
    Button,
    Context,
    Divider,
    Fields,
    Header,
    Message,
    Section,
    simple,
)
from integrations.slack.render import (
    MAX_BLOCKS,
    fallback_text,
    render,
    render_blocks,
    strip_action_suffix,
    to_mrkdwn,
    to_plain,
)
from tests.fakes.mock_slack import validate_blocks


def parsed(blocks: list[dict[str, Any]]) -> list[Block]:
    """Parse with slack_sdk's models and run their validators, as a strict client would."""
    models = Block.parse_all(blocks)
    assert None not in models
    for model in models:
        model.to_dict()
    validate_blocks(blocks)
    return models


@pytest.mark.parametrize(
    ("neutral", "slack"),
    [
        ("**bold**", "*bold*"),
        ("a **b** c **d**", "a *b* c *d*"),
        ("_italic_ stays", "_italic_ stays"),
        ("[Open](https://x.example/a?b=1&c=2)", "<https://x.example/a?b=1&c=2|Open>"),
        ("**[Open](https://x.example)**", "*<https://x.example|Open>*"),
        ("hi <@U123> and <#C42>", "hi <@U123> and <#C42>"),
        ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        ("`a **not bold** <b>`", "`a **not bold** <b>`"),
        ("[a|b](https://x.example)", "<https://x.example|a¦b>"),
        ("[x](javascript-free text)", "[x](javascript-free text)"),
        ("unclosed **bold", "unclosed **bold"),
        ("", ""),
    ],
)
def test_markdown_to_mrkdwn(neutral: str, slack: str) -> None:
    assert to_mrkdwn(neutral) == slack


def test_plain_text_drops_markup() -> None:
    assert to_plain("**Hi** [there](https://x.example) `/calendar`") == "Hi there /calendar"


def test_every_core_card_renders_valid_block_kit() -> None:
    messages = [
        cards.help_card(),
        cards.connect_link_card("https://calbot.example.com/connect/t", expires="Fri"),
        cards.connected_card(provider="Office 365", account="a@b.c", chat_name="A", when="now"),
        cards.already_connected_card(provider="Office 365", account="a@b.c", since="Mon"),
        cards.connect_failed_card("access was not granted."),
        cards.link_superseded_card(),
        cards.disconnected_card("Office 365", "a@b.c"),
    ]
    for message in messages:
        parsed(render_blocks(message))


def test_block_types() -> None:
    message = Message(
        text="All of it",
        blocks=(
            Header(text="**Sync** status"),
            Section(text="Hello <@U1>"),
            Fields(items=(("Connected", "12"), ("Missing", "3"))),
            Divider(),
            Actions(buttons=(Button(label="Go", action_id="go", value="1", style="primary"),)),
            Context(text="Checked [now](https://x.example)"),
        ),
    )
    blocks = render_blocks(message)
    models = parsed(blocks)
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "divider",
        "actions",
        "context",
    ]
    assert isinstance(models[0], HeaderBlock)
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Sync status", "emoji": True}
    assert blocks[2]["fields"][0] == {"type": "mrkdwn", "text": "*Connected*\n12"}
    assert isinstance(models[4], ActionsBlock)
    button = blocks[4]["elements"][0]
    assert button == {
        "type": "button",
        "action_id": "go",
        "text": {"type": "plain_text", "text": "Go", "emoji": True},
        "value": "1",
        "style": "primary",
    }
    assert blocks[5]["elements"][0]["text"] == "Checked <https://x.example|now>"


def test_fields_split_into_sections_of_ten() -> None:
    items = tuple((f"L{i}", f"v{i}") for i in range(23))
    blocks = render_blocks(Message(text="t", blocks=(Fields(items=items),)))
    assert [len(b["fields"]) for b in blocks] == [10, 10, 3]
    parsed(blocks)


def test_long_section_is_split_not_truncated() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(100)]  # ~10,000 characters
    blocks = render_blocks(Message(text="t", blocks=(Section(text="\n".join(lines)),)))
    assert len(blocks) > 3
    assert all(len(b["text"]["text"]) <= SectionBlock.text_max_length for b in blocks)
    joined = "\n".join(b["text"]["text"] for b in blocks)
    assert joined == "\n".join(lines)
    parsed(blocks)


def test_an_unbroken_long_word_is_still_split() -> None:
    blocks = render_blocks(Message(text="t", blocks=(Section(text="y" * 7000),)))
    assert [len(b["text"]["text"]) for b in blocks] == [3000, 3000, 1000]


def test_at_most_fifty_blocks() -> None:
    message = Message(text="t", blocks=tuple(Divider() for i in range(80)))
    blocks = render_blocks(message)
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-1]["type"] == "context"
    assert "shortened" in blocks[-1]["elements"][0]["text"]
    parsed(blocks)


def test_too_many_blocks_are_compacted_before_anything_is_cut() -> None:
    # 20 times (the most a proposal offers), each a section, a context line and its
    # buttons, plus a closing section: 61 blocks.
    per_slot: list[Section | Context | Actions] = []
    for i in range(20):
        per_slot += [
            Section(text=f"**Slot {i}**"),
            Context(text=f"{i}:00 in New York"),
            Actions(buttons=(Button(label="Accept", action_id="accept", value=str(i)),)),
        ]
    blocks = render_blocks(Message(text="t", blocks=(*per_slot, Section(text="end"))))
    parsed(blocks)
    assert len(blocks) == 41
    assert [b["type"] for b in blocks[:2]] == ["section", "actions"]
    assert blocks[0]["text"]["text"] == "*Slot 0*\n0:00 in New York"
    values = [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert values == [str(i) for i in range(20)]  # every button kept
    assert "shortened" not in str(blocks)

    # Plain sections merge only as far as needed to fit.
    many = render_blocks(Message(text="t", blocks=tuple(Section(text=f"s{i}") for i in range(60))))
    assert len(many) == MAX_BLOCKS
    assert "\n".join(b["text"]["text"] for b in many) == "\n".join(f"s{i}" for i in range(60))
    assert many[-1]["text"]["text"] == "s59"
    parsed(many)


def test_button_limits() -> None:
    long_label = Button(label="L" * 200, action_id="a", value="v" * 2000)
    [block] = render_blocks(Message(text="t", blocks=(Actions(buttons=(long_label,)),)))
    element = block["elements"][0]
    assert len(element["text"]["text"]) == ButtonElement.text_max_length
    assert element["text"]["text"].endswith("…")
    assert len(element["value"]) == 2000
    parsed([block])

    too_long = Button(label="x", action_id="a", value="v" * 2001)
    with pytest.raises(ValueError, match="value"):
        render_blocks(Message(text="t", blocks=(Actions(buttons=(too_long,)),)))


def test_more_than_25_buttons_become_several_action_blocks() -> None:
    buttons = tuple(Button(label=f"B{i}", action_id=f"b{i}") for i in range(30))
    blocks = render_blocks(Message(text="t", blocks=(Actions(buttons=buttons),)))
    assert [len(b["elements"]) for b in blocks] == [25, 5]
    parsed(blocks)


def test_repeated_action_ids_are_made_unique_and_stripped_on_the_way_in() -> None:
    message = Message(
        text="t",
        blocks=(
            Actions(buttons=(Button(label="A", action_id="nudge", value="U1"),)),
            Actions(
                buttons=(
                    Button(label="B", action_id="nudge", value="U2"),
                    Button(label="C", action_id="nudge", value="U3"),
                    Button(label="D", action_id="slot:3", value="x"),
                )
            ),
        ),
    )
    blocks = render_blocks(message)
    ids = [e["action_id"] for b in blocks for e in b["elements"]]
    assert ids == ["nudge", "nudge#1", "nudge#2", "slot:3"]
    assert len(set(ids)) == len(ids)
    assert [strip_action_suffix(i) for i in ids] == ["nudge", "nudge", "nudge", "slot:3"]
    parsed(blocks)


def test_link_button_keeps_its_url() -> None:
    card = cards.connect_link_card("https://calbot.example.com/connect/tok", expires="soon")
    [button] = [e for b in render_blocks(card) if b["type"] == "actions" for e in b["elements"]]
    assert button["url"] == "https://calbot.example.com/connect/tok"
    assert button["action_id"] == "connect.open"
    assert button["style"] == "primary"


def test_message_without_blocks_gets_a_section_and_fallback_text() -> None:
    message = Message(text="Plain **text** & more")
    assert render(message) == {
        "text": "Plain *text* &amp; more",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Plain *text* &amp; more"}}
        ],
    }
    assert fallback_text(Message(text="")) == " "
    assert fallback_text(simple("x" * 5000)).endswith("…")


def test_empty_pieces_are_left_out() -> None:
    message = Message(
        text="fallback", blocks=(Header(text=" "), Section(text=""), Context(text=" "))
    )
    blocks = render_blocks(message)
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": "fallback"}}]


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=4000,
)
_button = st.builds(
    Button,
    label=st.text(min_size=1, max_size=120),
    action_id=st.sampled_from(["a", "b", "connect.open", "slot:1"]),
    value=st.text(max_size=100),
    url=st.none() | st.just("https://calbot.example.com/connect/x"),
    style=st.none() | st.sampled_from(["primary", "danger"]),
)
_block = st.one_of(
    st.builds(Header, text=_text),
    st.builds(Section, text=_text),
    st.builds(Context, text=_text),
    st.builds(Divider),
    st.builds(Fields, items=st.lists(st.tuples(_text, _text), max_size=14).map(tuple)),
    st.builds(Actions, buttons=st.lists(_button, min_size=1, max_size=30).map(tuple)),
)


@settings(max_examples=60, deadline=None)
@given(st.builds(Message, text=_text, blocks=st.lists(_block, max_size=60).map(tuple)))
def test_any_message_renders_blocks_slack_accepts(message: Message) -> None:
    blocks = render_blocks(message)
    assert 1 <= len(blocks) <= MAX_BLOCKS
    parsed(blocks)
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(set(ids)) == len(ids)
