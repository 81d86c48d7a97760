"""The proposal form and its one-line text form: `/calendar propose "Jane Doe" 45m with @a @b`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.forms import Form, FormErrors, FormField, FormValues

PROPOSE_FORM_ID = "propose"
DEFAULT_DURATION = 45


@dataclass
class ProposalDraft:
    """What the coordinator asked for, before validation against the calendars."""

    candidate_name: str = ""
    candidate_email: str | None = None
    title: str = ""
    duration_minutes: int = DEFAULT_DURATION
    required: list[str] = field(default_factory=list)  # platform user ids
    pool: list[str] = field(default_factory=list)
    pool_required: int = 0
    window_start: date | None = None
    window_end: date | None = None
    min_notice_hours: int = 24
    buffer_before: int = 0
    buffer_after: int = 10
    count: int = 5
    tz: str = "UTC"

    def to_request(self) -> dict[str, object]:
        return {
            "duration": self.duration_minutes,
            "pool_required": self.pool_required,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "min_notice_hours": self.min_notice_hours,
            "buffer_before": self.buffer_before,
            "buffer_after": self.buffer_after,
            "count": self.count,
            "tz": self.tz,
        }


def propose_form(tz: str, today: date) -> Form:
    start, end = default_window(today)
    return Form(
        id=PROPOSE_FORM_ID,
        title="Propose interview times",
        submit_label="Find times",
        fields=(
            FormField(id="candidate", label="Candidate", required=True, placeholder="Jane Doe"),
            FormField(id="candidate_email", label="Candidate e-mail (optional)"),
            FormField(id="title", label="Title", placeholder="Technical interview"),
            FormField(
                id="duration",
                label="Duration (minutes)",
                kind="number",
                required=True,
                initial=str(DEFAULT_DURATION),
                min_value=15,
                max_value=240,
            ),
            FormField(
                id="required", label="Interviewers (all must attend)", kind="users", required=True
            ),
            FormField(id="pool", label="Pool (any N of these)", kind="users"),
            FormField(
                id="pool_required", label="How many from the pool", kind="number", initial="0"
            ),
            FormField(
                id="window_start", label="Earliest day", kind="date", initial=start.isoformat()
            ),
            FormField(id="window_end", label="Latest day", kind="date", initial=end.isoformat()),
            FormField(
                id="min_notice_hours", label="Minimum notice (hours)", kind="number", initial="24"
            ),
            FormField(id="buffer_before", label="Buffer before (min)", kind="number", initial="0"),
            FormField(id="buffer_after", label="Buffer after (min)", kind="number", initial="10"),
            FormField(id="count", label="Slots to offer", kind="number", initial="5"),
            FormField(id="tz", label="Your time zone", initial=tz),
        ),
    )


def default_window(today: date) -> tuple[date, date]:
    """The next 5 working days, starting tomorrow."""
    days: list[date] = []
    day = today
    while len(days) < 5:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[0], days[-1]


def draft_from_form(values: FormValues, today: date) -> tuple[ProposalDraft, FormErrors]:
    errors: FormErrors = {}

    def text(key: str) -> str:
        value = values.get(key, "")
        return (value[0] if isinstance(value, list) and value else value or "").strip()  # type: ignore[union-attr]

    def users(key: str) -> list[str]:
        value = values.get(key) or []
        return [v for v in ([value] if isinstance(value, str) else value) if v]

    def number(key: str, default: int, low: int, high: int) -> int:
        raw = text(key)
        if not raw:
            return default
        try:
            result = int(raw)
        except ValueError:
            errors[key] = "Please enter a whole number."
            return default
        if not low <= result <= high:
            errors[key] = f"Please enter a number from {low} to {high}."
        return result

    def day(key: str, default: date) -> date:
        raw = text(key)
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[key] = "Please enter a date like 2026-12-01."
            return default

    start, end = default_window(today)
    draft = ProposalDraft(
        candidate_name=text("candidate"),
        candidate_email=text("candidate_email") or None,
        title=text("title"),
        duration_minutes=number("duration", DEFAULT_DURATION, 15, 240),
        required=users("required"),
        pool=users("pool"),
        pool_required=number("pool_required", 0, 0, 20),
        window_start=day("window_start", start),
        window_end=day("window_end", end),
        min_notice_hours=number("min_notice_hours", 24, 0, 24 * 14),
        buffer_before=number("buffer_before", 0, 0, 240),
        buffer_after=number("buffer_after", 10, 0, 240),
        count=number("count", 5, 1, 10),
        tz=text("tz") or "UTC",
    )
    errors.update(check_draft(draft, today))
    return draft, errors


def check_draft(draft: ProposalDraft, today: date) -> FormErrors:
    """Errors a person can fix in the form, before any calendar is looked at."""
    errors: FormErrors = {}
    if not draft.candidate_name:
        errors["candidate"] = "Who is the candidate?"
    if draft.candidate_email and not re.fullmatch(
        r"[^@\s]+@[^@\s]+\.[^@\s]+", draft.candidate_email
    ):
        errors["candidate_email"] = "That doesn't look like an e-mail address."
    if not 15 <= draft.duration_minutes <= 240:
        errors["duration"] = "Interviews last from 15 to 240 minutes."
    if not draft.required:
        errors["required"] = "Add at least one interviewer who must attend."
    overlap = set(draft.required) & set(draft.pool)
    if overlap:
        errors["pool"] = "Someone is both required and in the pool."
    if draft.pool_required > len(draft.pool):
        errors["pool_required"] = f"The pool has only {len(draft.pool)} people."
    if draft.pool and draft.pool_required == 0:
        errors["pool_required"] = "How many of the pool must attend?"
    try:
        ZoneInfo(draft.tz)
    except Exception:
        errors["tz"] = "Use a time zone name like Europe/London."
    if draft.window_start and draft.window_end:
        if draft.window_end < draft.window_start:
            errors["window_end"] = "The latest day is before the earliest day."
        elif draft.window_end < today:
            errors["window_end"] = "That window is in the past."
        elif (draft.window_end - draft.window_start).days > 56:
            errors["window_end"] = "Search at most 8 weeks at a time."
    return errors


_DURATION = re.compile(r"^(\d{1,3})\s*(m|min|mins|minutes|h|hr|hrs|hours?)$", re.I)
_USER = re.compile(r"^<@([^>|]+)(?:\|[^>]*)?>$")


def parse_propose_text(text: str, *, tz: str, today: date) -> tuple[ProposalDraft, FormErrors]:
    """`"Jane Doe" 45m with @alice @bob [any 1 of @carol @dan] next week`."""
    draft = ProposalDraft(tz=tz)
    errors: FormErrors = {}
    rest = text.strip()
    quoted = re.match(r'^["“](.+?)["”]\s*(.*)$', rest)
    if quoted:
        draft.candidate_name, rest = quoted.group(1).strip(), quoted.group(2)
    tokens = re.findall(r"<[^>]+>|\[|\]|[^\s\[\]]+", rest)
    i = 0
    name_words: list[str] = []
    window_words: list[str] = []
    in_pool = False
    while i < len(tokens):
        token = tokens[i]
        lower = token.lower()
        if _DURATION.match(token):
            amount, unit = _DURATION.match(token).groups()  # type: ignore[union-attr]
            draft.duration_minutes = int(amount) * (60 if unit.lower().startswith("h") else 1)
        elif lower == "with":
            pass
        elif lower == "[":
            in_pool = True
        elif lower == "]":
            in_pool = False
        elif lower == "any" and i + 2 < len(tokens) and tokens[i + 2].lower() == "of":
            in_pool = True
            try:
                draft.pool_required = int(tokens[i + 1])
            except ValueError:
                errors["pool_required"] = "Write the pool as “any 1 of @a @b”."
            i += 2
        elif match := _USER.match(token):
            (draft.pool if in_pool else draft.required).append(match.group(1))
        elif draft.required or draft.pool:
            window_words.append(lower)
        elif not draft.candidate_name:
            name_words.append(token)
        else:
            window_words.append(lower)
        i += 1
    if name_words and not draft.candidate_name:
        draft.candidate_name = " ".join(name_words)
    start, end = window_from_words(" ".join(window_words), today)
    if start is None:
        errors["window_end"] = "I understand “this week”, “next week”, “next N days” or dates."
        start, end = default_window(today)
    draft.window_start, draft.window_end = start, end
    errors.update(check_draft(draft, today))
    return draft, errors


def window_from_words(words: str, today: date) -> tuple[date | None, date | None]:
    words = words.strip().strip(".")
    if not words:
        return default_window(today)
    monday = today - timedelta(days=today.weekday())
    if words == "next week":
        return monday + timedelta(days=7), monday + timedelta(days=11)
    if words == "this week":
        return max(today + timedelta(days=1), monday), monday + timedelta(days=4)
    if words == "tomorrow":
        return today + timedelta(days=1), today + timedelta(days=1)
    if match := re.fullmatch(r"next (\d{1,2}) (?:working )?days", words):
        start = today + timedelta(days=1)
        return start, start + timedelta(days=int(match.group(1)) - 1)
    if match := re.fullmatch(
        r"(?:from )?(\d{4}-\d{2}-\d{2}) (?:to|-|until) (\d{4}-\d{2}-\d{2})", words
    ):
        try:
            return date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
        except ValueError:
            return None, None
    return None, None


def local_midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
