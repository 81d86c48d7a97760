"""Wire helpers for the scheduling calls: free/busy periods and event bodies (§6, §7).

Pure, so the client stays plumbing and these rules are unit-testable without HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

# free_busy_status values that are not busy time. Everything else ("busy", "tentative",
# and "unknown" or any status Cronofy adds later) is reported, erring towards "not free".
FREE_STATUSES = frozenset({"free"})


@dataclass(frozen=True, slots=True)
class BusyPeriod:
    """One non-free block from ``GET /v1/free_busy``, in UTC.

    All-day items (Cronofy sends dates) start and end at local midnight in the ``tzid``
    of the query; ``all_day`` says so.
    """

    calendar_id: str
    start: datetime
    end: datetime
    status: str = "busy"
    all_day: bool = False


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def stamp(value: datetime) -> str:
    """``2026-05-04T09:00:00Z``: the UTC form every Cronofy example uses."""
    return _aware(value, "time").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def free_busy_params(
    from_: datetime,
    to: datetime,
    tzid: str,
    *,
    include_managed: bool,
    calendar_ids: tuple[str, ...] = (),
) -> tuple[tuple[str, str], ...]:
    """Query parameters covering ``[from_, to)``.

    ``from``/``to`` are dates in ``tzid`` and ``to`` is excluded (§6), so the range is
    widened to whole local days; :func:`busy_periods` trims the answer back.
    """
    zone = ZoneInfo(tzid)
    start = _aware(from_, "from_").astimezone(zone)
    end = _aware(to, "to").astimezone(zone)
    if end <= start:
        raise ValueError("to must be after from_")
    last = end.date() if end.time() == time(0) else end.date() + timedelta(days=1)
    return (
        ("tzid", tzid),
        ("from", start.date().isoformat()),
        ("to", last.isoformat()),
        ("include_managed", "true" if include_managed else "false"),
        *(("calendar_ids[]", calendar_id) for calendar_id in calendar_ids),
    )


def free_busy_page(data: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], str | None]:
    """One page's items and its ``next_page`` URL (None on the last page)."""
    items = data["free_busy"]
    if not isinstance(items, list):
        raise TypeError("free_busy is not a list")
    pages = data.get("pages")
    next_page = pages.get("next_page") if isinstance(pages, Mapping) else None
    return items, str(next_page) if next_page else None


def _when(value: Any, zone: ZoneInfo) -> tuple[datetime, bool]:
    if not isinstance(value, str):
        raise ValueError("start/end must be strings")
    if len(value) == 10:  # YYYY-MM-DD: an all-day item
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC), True
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("time without a zone")
    return parsed.astimezone(UTC), False


def busy_periods(
    items: list[Mapping[str, Any]], tzid: str, from_: datetime, to: datetime
) -> list[BusyPeriod]:
    """The non-free items that overlap ``[from_, to)``, earliest first."""
    zone = ZoneInfo(tzid)
    out: list[BusyPeriod] = []
    for item in items:
        status = str(item.get("free_busy_status") or "busy")
        if status in FREE_STATUSES:
            continue
        start, all_day = _when(item["start"], zone)
        end, _ = _when(item["end"], zone)
        if start < to and end > from_:
            out.append(BusyPeriod(str(item["calendar_id"]), start, end, status, all_day))
    return sorted(out, key=lambda p: (p.start, p.end, p.calendar_id))


def same_origin_path(next_page: str, api_url: str) -> str:
    """The path+query of a ``next_page`` URL, refusing any other host.

    The page is fetched with the user's bearer token, which must never be sent to a host
    other than the configured API host, whatever an answer says.
    """
    page, base = urlsplit(next_page), urlsplit(api_url)
    prefix = base.path.rstrip("/")
    if (page.scheme, page.netloc) != (base.scheme, base.netloc) or not page.path.startswith(
        prefix + "/"
    ):
        raise ValueError("next_page points outside the API")
    # The client prepends api_url (with any path prefix) itself.
    return page.path[len(prefix) :] + (f"?{page.query}" if page.query else "")


def event_body(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` ready to send: datetimes as UTC ``Z`` strings, dates as
    ``YYYY-MM-DD``. ``event_id`` is required: it is what makes a retried or repeated
    upsert update the same event instead of creating a second one."""
    body = dict(event)
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("event_id is required (it is the idempotency key)")
    for name in ("start", "end"):
        value = body.get(name)
        if isinstance(value, datetime):
            body[name] = stamp(value)
        elif isinstance(value, date):
            body[name] = value.isoformat()
    return body
