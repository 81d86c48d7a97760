"""The one Cronofy Availability API request per proposal, and its response as candidates.

Pure: builds and reads plain dicts (``reference/cronofy.md`` §5); the HTTP call belongs to
the Cronofy adapter (``POST /v1/availability`` with the client secret as API key).

Choice of ``available_periods`` (the brief's name; current Cronofy docs also call them
``query_periods`` and accept both):

* They are the window, from the earliest allowed start (``now + min_notice``, aligned to
  ``start_interval``) to the window end, intersected with the **intersection** of the
  required interviewers' working hours, each built in their own IANA zone with their
  public holidays removed. Every slot calbot may offer lies inside that set (all required
  interviewers must attend and must be within their hours), so asking for it loses
  nothing; asking for more (the plain window, or the *union* of working hours) would let
  nights, weekends and one-sided hours use up ``max_results`` on slots the rules then drop,
  and could leave too few usable slots to spread.
* Cronofy accepts at most 50 periods. When there are more (long windows, split days), the
  periods separated by the *shortest* gaps are bridged until 50 remain. Bridging only
  adds time, so the query stays a superset of the valid slots; the few extra candidates
  (e.g. a lunch break) are removed by calbot's own rules, which always run afterwards.
* "Any N of" a pool cannot be folded into one intersection, so each pool member carries
  their own ``available_periods`` (their working hours, same 50-period bridging); Cronofy
  then reports as free only pool members who are within their hours.
* DST: all periods are UTC instants computed from local wall-clock hours day by day, so a
  change in one interviewer's zone moves only that person's hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.slots.hours import working_periods
from bot.slots.intervals import Span, intersect_all
from bot.slots.model import Interviewer, Slot, SlotRequest, SlotRequestError
from bot.slots.rules import Interviewers, align_up, index_interviewers
from bot.slots.tz import to_utc

__all__ = [
    "MAX_PERIODS",
    "MAX_RESULTS",
    "AvailabilityResponseError",
    "AvailabilityResult",
    "build_availability_request",
    "coarsen",
    "parse_availability_response",
    "query_spans",
]

MAX_PERIODS = 50
#: Cronofy's documented default/maximum for ``max_results`` is 512 (third-party code uses
#: 512; see cronofy.md §5.2, not confirmed). A proposal spreads 5 slots over 1–8 weeks,
#: so the cap is rarely reached once periods are limited to common working hours.
MAX_RESULTS = 512


class AvailabilityResponseError(ValueError):
    """Cronofy's answer did not have the documented shape."""


def coarsen(spans: list[Span], limit: int = MAX_PERIODS) -> list[Span]:
    """At most ``limit`` spans covering ``spans``: bridge the shortest gaps first
    (ties: the later gap), keeping the ``limit - 1`` longest gaps. Deterministic."""
    if len(spans) <= limit:
        return list(spans)
    gaps = sorted(
        range(1, len(spans)), key=lambda i: (spans[i][0] - spans[i - 1][1], -i), reverse=True
    )
    cuts = sorted(gaps[: limit - 1])
    out: list[Span] = []
    begin = 0
    for cut in [*cuts, len(spans)]:
        out.append((spans[begin][0], spans[cut - 1][1]))
        begin = cut
    return out


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _periods(spans: list[Span]) -> list[dict[str, str]]:
    return [{"start": _stamp(start), "end": _stamp(end)} for start, end in spans]


def _minutes(value: Any) -> dict[str, int]:
    return {"minutes": int(value.total_seconds() // 60)}


def query_spans(
    request: SlotRequest, people: Mapping[str, Interviewer], now: datetime
) -> list[Span]:
    """The (uncoarsened) spans to search: see the module docstring."""
    earliest = align_up(request.earliest_start(now), request.start_interval, request.coordinator_tz)
    bounds: list[Span] = [(earliest, request.window.end)]
    hours = [
        working_periods(people[key], request.window.start, request.window.end)
        for key in request.required
    ]
    spans = intersect_all([bounds, *hours])
    out: list[Span] = []
    for start, end in spans:
        start = align_up(start, request.start_interval, request.coordinator_tz)
        if end - start >= request.duration:
            out.append((start, end))
    return out


def build_availability_request(
    request: SlotRequest,
    interviewers: Interviewers,
    subs: Mapping[str, str],
    now: datetime,
    *,
    max_results: int = MAX_RESULTS,
) -> dict[str, Any]:
    """The body of the single ``POST /v1/availability`` for this proposal.

    ``subs`` maps interviewer key → Cronofy ``sub``. Raises :class:`SlotRequestError` when
    a participant has no ``sub`` (not connected) or when the required interviewers have no
    working time in common inside the window (nothing to ask Cronofy).
    """
    now = to_utc(now, "now")
    people = index_interviewers(interviewers, request)
    for field_name, keys in (("required", request.required), ("pool", request.pool)):
        missing = [key for key in keys if not subs.get(key)]
        if missing:
            raise SlotRequestError(field_name, f"no connected calendar for: {', '.join(missing)}")
    spans = query_spans(request, people, now)
    if not spans:
        zones = ", ".join(f"{key} ({people[key].tz})" for key in request.required)
        raise SlotRequestError(
            "required",
            f"{zones} have no {request.duration.total_seconds() / 60:g}-minute stretch of "
            "working time in common in the window (after minimum notice and holidays)",
        )
    periods = coarsen(spans)
    participants: list[dict[str, Any]] = [
        {"members": [{"sub": subs[key]} for key in request.required], "required": "all"}
    ]
    if request.pool:
        span_start, span_end = periods[0][0], periods[-1][1]
        members: list[dict[str, Any]] = []
        for key in request.pool:
            member: dict[str, Any] = {"sub": subs[key]}
            own = [
                (max(s, span_start), min(e, span_end))
                for s, e in working_periods(people[key], span_start, span_end)
                if e > span_start and s < span_end
            ]
            if own:
                member["available_periods"] = _periods(coarsen(own))
            members.append(member)
        participants.append({"members": members, "required": request.pool_required})
    return {
        "participants": participants,
        "required_duration": _minutes(request.duration),
        "available_periods": _periods(periods),
        "buffer": {
            "before": _minutes(request.buffer_before),
            "after": _minutes(request.buffer_after),
        },
        "start_interval": _minutes(request.start_interval),
        "response_format": "slots",
        "max_results": max_results,
        "include_member_statuses": True,
    }


@dataclass(frozen=True, slots=True)
class AvailabilityResult:
    """Candidates from Cronofy, in calbot's keys.

    ``member_statuses``: key → ``active`` / ``pending`` / ``disconnected`` when Cronofy
    reported it, so a stale or broken calendar is flagged rather than silently producing
    an empty or wrong list. ``unknown_subs``: subs in the answer that map to nobody.
    """

    slots: tuple[Slot, ...]
    member_statuses: Mapping[str, str] = field(default_factory=dict)
    unknown_subs: tuple[str, ...] = ()

    @property
    def not_active(self) -> dict[str, str]:
        return {k: v for k, v in self.member_statuses.items() if v != "active"}


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise AvailabilityResponseError(f"{where}: expected an ISO-8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise AvailabilityResponseError(f"{where}: not ISO-8601: {value!r}") from exc
    if parsed.tzinfo is None:
        raise AvailabilityResponseError(f"{where}: no time zone in {value!r}")
    return parsed.astimezone(UTC)


def parse_availability_response(
    body: Mapping[str, Any], subs: Mapping[str, str]
) -> AvailabilityResult:
    """Cronofy's ``available_slots`` (or ``available_periods``) as candidate slots.

    ``subs`` is the same key → sub mapping used for the request; participants are reported
    back as keys, in the order Cronofy listed them.
    """
    if not isinstance(body, Mapping):
        raise AvailabilityResponseError("the availability response is not a JSON object")
    by_sub = {sub: key for key, sub in subs.items()}
    items = body.get("available_slots")
    if items is None:
        items = body.get("available_periods", [])
    if not isinstance(items, list):
        raise AvailabilityResponseError("available_slots is not a list")
    unknown: dict[str, None] = {}
    # Cronofy repeats the same participant lists slot after slot: map each list once.
    mapped: dict[tuple[Any, ...], tuple[str, ...]] = {}
    slots: list[Slot] = []
    for index, item in enumerate(items):
        where = f"available_slots[{index}]"
        if not isinstance(item, dict | Mapping):
            raise AvailabilityResponseError(f"{where}: not an object")
        start = _parse_time(item.get("start"), f"{where}.start")
        end = _parse_time(item.get("end"), f"{where}.end")
        if end <= start:
            raise AvailabilityResponseError(f"{where}: ends before it starts")
        try:
            sub_list = tuple(participant["sub"] for participant in item.get("participants") or ())
        except (TypeError, KeyError, IndexError) as exc:
            raise AvailabilityResponseError(f"{where}.participants: missing sub") from exc
        keys = mapped.get(sub_list)
        if keys is None:
            found: list[str] = []
            for sub in sub_list:
                if not isinstance(sub, str):
                    raise AvailabilityResponseError(f"{where}.participants: missing sub")
                if sub in by_sub:
                    found.append(by_sub[sub])
                else:
                    unknown[sub] = None
            keys = mapped[sub_list] = tuple(found)
        slots.append(Slot(start, end, keys))
    statuses: dict[str, str] = {}
    for status in body.get("member_statuses") or ():
        if isinstance(status, Mapping) and status.get("sub") in by_sub:
            statuses[by_sub[status["sub"]]] = str(status.get("sync_status", "unknown"))
    return AvailabilityResult(tuple(slots), statuses, tuple(unknown))
