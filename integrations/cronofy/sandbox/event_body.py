"""Validating upsert/delete event bodies (reference §7.1, §7.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from integrations.cronofy.sandbox import times
from integrations.cronofy.sandbox.errors import Collector

MAX_SUMMARY = 1024
MAX_DESCRIPTION = 4096


@dataclass(frozen=True)
class EventInput:
    event_id: str
    summary: str
    start: datetime
    end: datetime
    all_day: bool
    description: str = ""
    tzid: str | None = None
    transparent: bool = False
    invite: dict[str, str | None] = field(default_factory=dict)  # email → display_name
    reject: frozenset[str] = frozenset()


def _time(value: Any) -> tuple[datetime | date | None, str | None]:
    """A UTC time, a date, or ``{"time": …, "tzid": …}``; (None, None) when invalid."""
    tzid = None
    if isinstance(value, dict):
        tzid = value.get("tzid")
        value = value.get("time")
        if tzid is not None and times.zone(tzid) is None:
            return None, None
    return times.instant(value) or times.day(value), tzid


def _attendees(c: Collector, value: Any) -> tuple[dict[str, str | None], frozenset[str]]:
    if value is None:
        return {}, frozenset()
    if not isinstance(value, dict):
        c.add("attendees", "invalid", "must be an object with invite/reject arrays")
        return {}, frozenset()
    invite: dict[str, str | None] = {}
    reject: set[str] = set()
    # "reject" per two SDKs and the Ruby docs; the C# SDK's "remove" is accepted as well
    # because the reference could not settle which one Cronofy reads (§13.4).
    for name in ("invite", "reject", "remove"):
        items = value.get(name) or []
        if not isinstance(items, list):
            c.add(f"attendees.{name}", "invalid", "must be an array")
            continue
        for index, item in enumerate(items):
            email = item.get("email") if isinstance(item, dict) else None
            if not isinstance(email, str) or "@" not in email:
                c.add(f"attendees.{name}[{index}].email", "invalid", "must be an e-mail address")
                continue
            key = email.strip().lower()
            if name == "invite":
                display = item.get("display_name")
                invite[key] = display if isinstance(display, str) else None
            else:
                reject.add(key)
    return invite, frozenset(reject)


def parse_upsert(body: Any, default_zone: ZoneInfo) -> EventInput:
    """The event to store; raises Unprocessable. All-day dates are midnights in the
    event's ``tzid`` (or ``default_zone``, the account's zone)."""
    c = Collector()
    body = body if isinstance(body, dict) else {}
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        c.add("event_id", "required", "required")
    summary = body.get("summary")
    if not isinstance(summary, str) or not summary:
        c.add("summary", "required", "required")
    elif len(summary) > MAX_SUMMARY:
        c.add("summary", "too_long", f"at most {MAX_SUMMARY} characters")
    description = body.get("description", "")
    if not isinstance(description, str):
        c.add("description", "invalid", "must be plain text")
    elif len(description) > MAX_DESCRIPTION:
        c.add("description", "too_long", f"at most {MAX_DESCRIPTION} characters")
    tzid = body.get("tzid")
    if tzid is not None and times.zone(tzid) is None:
        c.add("tzid", "invalid", "must be an IANA time zone id")

    parsed: dict[str, datetime | date] = {}
    for name in ("start", "end"):
        if body.get(name) is None:
            c.add(name, "required", "required")
            continue
        value, _ = _time(body[name])
        if value is None:
            c.add(name, "invalid", "must be a UTC time, a date or {time, tzid}")
        else:
            parsed[name] = value
    start, end = parsed.get("start"), parsed.get("end")
    all_day = isinstance(start, date) and not isinstance(start, datetime)
    if start is not None and end is not None:
        if isinstance(start, datetime) != isinstance(end, datetime):
            c.add("end", "invalid", "start and end must both be times or both be dates")
        elif end <= start:
            c.add("end", "invalid", "must be after start")

    transparency = body.get("transparency", "opaque")
    if transparency not in ("opaque", "transparent"):
        c.add("transparency", "invalid", "must be opaque or transparent")
    invite, reject = _attendees(c, body.get("attendees"))
    c.raise_if_any()

    assert start is not None and end is not None
    if all_day:
        zone = times.zone(tzid) or default_zone
        start = times.local_midnight(start, zone)
        end = times.local_midnight(end, zone)
    assert isinstance(start, datetime) and isinstance(end, datetime)
    return EventInput(
        event_id=str(event_id),
        summary=str(summary),
        start=start,
        end=end,
        all_day=all_day,
        description=str(description),
        tzid=tzid,
        transparent=transparency == "transparent",
        invite=invite,
        reject=reject,
    )


def parse_delete(body: Any) -> str:
    """The ``event_id`` to delete; raises Unprocessable."""
    c = Collector()
    body = body if isinstance(body, dict) else {}
    if "event_uid" in body and "event_id" not in body:
        # External events need elevated permissions calbot never asks for (§7.2).
        c.add("event_uid", "unsupported", "the sandbox deletes managed events only")
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        c.add("event_id", "required", "required")
    c.raise_if_any()
    return str(event_id)
