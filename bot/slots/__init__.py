"""Interview slot rules: pure, stdlib + zoneinfo + ``holidays`` only.

- :mod:`bot.slots.model` — ``Interval``, ``WorkingHours``, ``Interviewer``, ``SlotRequest``,
  ``Slot``, ``SlotRequestError``;
- :mod:`bot.slots.cronofy_query` — the one Availability API request and its response;
- :mod:`bot.slots.rules` — calbot's rules on top of Cronofy (``select_slots``), the
  local ground truth (``compute_candidates``) and a per-slot re-check (``slot_problems``);
- :mod:`bot.slots.display` — a slot in the reader's own zone.
"""

from bot.slots.cronofy_query import (
    AvailabilityResponseError,
    AvailabilityResult,
    build_availability_request,
    parse_availability_response,
)
from bot.slots.display import SlotLabel, format_range, format_slot
from bot.slots.hours import holiday_dates, working_periods
from bot.slots.model import (
    Interval,
    Interviewer,
    Slot,
    SlotRequest,
    SlotRequestError,
    WorkingHours,
)
from bot.slots.rules import compute_candidates, select_slots, slot_problems
from bot.slots.tz import WallTime, dst_problem, wall_time_kind

__all__ = [
    "AvailabilityResponseError",
    "AvailabilityResult",
    "Interval",
    "Interviewer",
    "Slot",
    "SlotLabel",
    "SlotRequest",
    "SlotRequestError",
    "WallTime",
    "WorkingHours",
    "build_availability_request",
    "compute_candidates",
    "dst_problem",
    "format_range",
    "format_slot",
    "holiday_dates",
    "parse_availability_response",
    "select_slots",
    "slot_problems",
    "wall_time_kind",
    "working_periods",
]
