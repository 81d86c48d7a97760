"""A fake Microsoft Bot Connector: the REST service Teams' ``serviceUrl`` points at.

Tests send activity JSON to calbot's ``/api/messages`` with ``serviceUrl`` set to
``connector.url``; every reply, proactive send, card update and roster read the bot
makes then lands here, is recorded with its JSON body, and gets a realistic answer.

    async with MockConnector() as connector:
        activity["serviceUrl"] = connector.url
        ...
        connector.posts(conversation_id)      # activities the bot sent there
        connector.updates(activity_id=...)    # PUTs that edited a message
        connector.fail_next(1, 429, retry_after=7)

Wire details it absorbs (see reference/teams.md §7.3): botbuilder URL-encodes ids
(``a%3Aconv``) and the Agents SDK does not; botbuilder asks for ``pagedmembers`` and
the Agents SDK for ``pagedMembers`` with an empty ``continuationToken=``. Paths are
matched on decoded, case-insensitive segments and any activity id is accepted.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from aiohttp import web

CARD = "application/vnd.microsoft.card.adaptive"


@dataclass
class ConnectorCall:
    """One request the bot made, as the wire saw it."""

    method: str
    route: str  # e.g. "send", "reply", "update", "create", "member", "pagedmembers"
    path: str  # decoded path
    conversation_id: str | None = None
    activity_id: str | None = None
    member_id: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    authorization: str | None = None
    status: int = 200
    response: Any = None  # the JSON the fake answered, e.g. {"id": "activity-3"}

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The Adaptive Cards this call carried (send, reply or update)."""
        if not isinstance(self.body, dict):
            return []
        return [
            a["content"]
            for a in self.body.get("attachments") or []
            if a.get("contentType") == CARD and isinstance(a.get("content"), dict)
        ]

    @property
    def text(self) -> str:
        """Everything readable in this call's activity: its text and every card text."""
        parts = [self.body.get("text") or ""] if isinstance(self.body, dict) else []
        parts += [_card_text(card) for card in self.cards]
        return "\n".join(p for p in parts if p)


@dataclass
class _Fault:
    status: int
    retry_after: float | None
    code: str
    message: str


class MockConnector:
    """An aiohttp Bot Connector on 127.0.0.1, random port. Use as an async context manager."""

    def __init__(self, *, page_size_default: int = 200, strict_members: bool = False) -> None:
        self.calls: list[ConnectorCall] = []
        # False: GET members/{id} finds any known member in any conversation. True:
        # only members of that conversation (its roster, or the 1:1 chat with them),
        # and a 1:1 chat can only be created with someone who exists, which is the
        # most Teams promises.
        self.strict_members = strict_members
        # Teams ids (29:…) and Entra object ids both resolve to the same member record.
        self.members: dict[str, dict[str, Any]] = {}
        # conversation (or team) id → ordered member ids for the paged roster.
        self.rosters: dict[str, list[str]] = {}
        # (tenant, member id) → 1:1 conversation id, so creating a 1:1 twice gives the
        # same chat, as Teams does.
        self.personal_chats: dict[tuple[str, str], str] = {}
        self.page_size_default = page_size_default
        # None = let one call through (``fail_next(after=…)``).
        self._faults: list[_Fault | None] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        # A trailing slash, like Teams' own serviceUrl values.
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MockConnector:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- arranging -------------------------------------------------------------------

    def add_member(
        self,
        teams_id: str,
        *,
        name: str,
        aad_object_id: str,
        email: str | None = None,
        tenant_id: str | None = None,
        conversation_id: str | None = None,
        role: str | None = "user",
    ) -> dict[str, Any]:
        """A user the roster endpoints know (optionally in one conversation's roster).

        ``role`` is the roster's ``userRole`` ("owner", "user", "guest"); None leaves
        the field out, as some Teams answers do.
        """
        member: dict[str, Any] = {
            "id": teams_id,
            "name": name,
            "aadObjectId": aad_object_id,
            "objectId": aad_object_id,
        }
        if role is not None:
            member["userRole"] = role
        if email:
            member.update(email=email, userPrincipalName=email)
            given, _, surname = name.partition(" ")
            member.update(givenName=given, surname=surname)
        if tenant_id:
            member["tenantId"] = tenant_id
        self.members[teams_id] = member
        self.members[aad_object_id] = member
        if conversation_id:
            self.rosters.setdefault(conversation_id, []).append(teams_id)
        return member

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        message: str = "fault injected by MockConnector",
        after: int = 0,
    ) -> None:
        """Answer ``count`` calls (any endpoint) with ``status``, after ``after`` good ones."""
        default_code = {
            403: "BotNotInConversationRoster",
            404: "ConversationNotFound",
            412: "PreconditionFailed",
            413: "MessageSizeTooBig",
            429: "Throttled",
        }.get(status, "ServiceError")
        fault = _Fault(status, retry_after, code or default_code, message)
        self._faults.extend([None] * after + [fault] * count)

    def clear(self) -> None:
        """Forget recorded calls (the arranged members and chats stay)."""
        self.calls.clear()

    # --- asserting -------------------------------------------------------------------

    def find(
        self,
        route: str | None = None,
        *,
        conversation_id: str | None = None,
        activity_id: str | None = None,
        ok_only: bool = True,
    ) -> list[ConnectorCall]:
        return [
            c
            for c in self.calls
            if (route is None or c.route == route)
            and (conversation_id is None or c.conversation_id == conversation_id)
            and (activity_id is None or c.activity_id == activity_id)
            and (not ok_only or c.status < 400)
        ]

    def posts(self, conversation_id: str | None = None) -> list[ConnectorCall]:
        """Activities the bot sent (new messages and replies), oldest first."""
        return [
            c for c in self.find(conversation_id=conversation_id) if c.route in ("send", "reply")
        ]

    def received(self, member_id: str) -> list[ConnectorCall]:
        """DMs to one person (by their 29: id): posts in 1:1 chats addressed to them.

        Channel and group-chat ids start with "19:"; a reply there names the asker as
        its recipient too, but everyone in the conversation sees it.
        """
        return [
            c
            for c in self.posts()
            if not (c.conversation_id or "").startswith("19:")
            and isinstance(c.body, dict)
            and (c.body.get("recipient") or {}).get("id") == member_id
        ]

    def updates(self, activity_id: str | None = None) -> list[ConnectorCall]:
        return self.find("update", activity_id=activity_id)

    @staticmethod
    def sent_id(call: ConnectorCall) -> str:
        """The activity id the fake gave a message it accepted (what an update must target)."""
        assert isinstance(call.response, dict) and call.response.get("id"), call
        return str(call.response["id"])

    # --- the Bot Connector REST API ----------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        # raw_path keeps %2F inside ids apart from real separators; decode per segment.
        raw = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw.strip("/").split("/") if s]
        lowered = [s.lower() for s in segments]
        body: Any = None
        if request.can_read_body:
            text = await request.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
        call = ConnectorCall(
            method=request.method,
            route="unknown",
            path="/" + "/".join(segments),
            query=dict(request.query),
            body=body,
            authorization=request.headers.get("Authorization"),
        )
        self._classify(call, segments, lowered)
        self.calls.append(call)
        fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            call.status = fault.status
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            error = {"error": {"code": fault.code, "message": fault.message}}
            return web.json_response(error, status=fault.status, headers=headers)
        response = self._answer(call)
        call.status = response.status
        if response.text:
            call.response = json.loads(response.text)
        return response

    @staticmethod
    def _classify(call: ConnectorCall, segments: list[str], lowered: list[str]) -> None:
        if lowered[:2] != ["v3", "conversations"]:
            return
        rest, low = segments[2:], lowered[2:]
        if not rest:
            call.route = "create" if call.method == "POST" else "list"
            return
        call.conversation_id = rest[0]
        if low[1:2] == ["activities"]:
            call.activity_id = rest[2] if len(rest) > 2 else None
            if call.method == "POST":
                call.route = "reply" if call.activity_id else "send"
            elif call.method == "PUT":
                call.route = "update"
            elif call.method == "DELETE":
                call.route = "delete"
        elif low[1:2] == ["members"]:
            call.member_id = rest[2] if len(rest) > 2 else None
            call.route = "member" if call.member_id else "members"
        elif low[1:2] == ["pagedmembers"]:
            call.route = "pagedmembers"

    def _answer(self, call: ConnectorCall) -> web.Response:
        if call.route in ("send", "reply"):
            return web.json_response({"id": f"activity-{next(self._ids)}"}, status=201)
        if call.route == "update":
            return web.json_response({"id": call.activity_id})
        if call.route == "delete":
            return web.Response(status=200)
        if call.route == "create":
            return self._create(call)
        if call.route == "member":
            member = self.members.get(call.member_id or "")
            if member is not None and self.strict_members:
                roster = self.rosters.get(call.conversation_id or "", [])
                member = member if member["id"] in roster else None
            if member is None:
                return _error(404, "MemberNotFoundInConversation", "member not found")
            return web.json_response(member)
        if call.route == "pagedmembers":
            return self._paged(call)
        return _error(404, "NotFound", f"the fake connector has no {call.method} {call.path}")

    def _create(self, call: ConnectorCall) -> web.Response:
        body = call.body if isinstance(call.body, dict) else {}
        members = body.get("members") or []
        if not members or not isinstance(members[0], dict) or not members[0].get("id"):
            return _error(400, "BadArgument", "members[0].id is required")
        tenant = body.get("tenantId") or (body.get("channelData") or {}).get("tenant", {}).get("id")
        member_id = str(members[0]["id"])
        known = self.members.get(member_id)
        if known is None and self.strict_members:
            return _error(404, "NotFound", "no such user in this tenant")
        # Teams ids and Entra object ids both name the same person, and the same chat.
        key = (str(tenant), known["id"] if known else member_id)
        conversation_id = self.personal_chats.setdefault(key, f"a:personal-{next(self._ids)}")
        roster = self.rosters.setdefault(conversation_id, [])
        if known and known["id"] not in roster:
            roster.append(known["id"])
        return web.json_response(
            {"id": conversation_id, "activityId": None, "serviceUrl": self.url}, status=201
        )

    def _paged(self, call: ConnectorCall) -> web.Response:
        roster = self.rosters.get(call.conversation_id or "")
        if roster is None:
            return _error(404, "ConversationNotFound", "conversation not found")
        size = int(call.query.get("pageSize") or self.page_size_default)
        start = int(call.query.get("continuationToken") or 0)
        page = [self.members[m] for m in roster[start : start + size]]
        token = str(start + size) if start + size < len(roster) else None
        return web.json_response({"members": page, "continuationToken": token})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _card_text(node: Any) -> str:
    """All the strings a reader would see in a card (TextBlocks, facts, button titles)."""
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("text", "title", "value"):
            if isinstance(node.get(key), str):
                out.append(node[key])
        for key in ("body", "items", "actions", "facts", "columns"):
            for child in node.get(key) or []:
                out.append(_card_text(child))
    return "\n".join(s for s in out if s)
