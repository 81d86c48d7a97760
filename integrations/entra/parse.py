"""Read what a user pastes from Microsoft's sign-in error page.

Accepts anything: the page text, the "More details" / "Troubleshooting details" block, an
OAuth redirect URL or ``error_description`` (URL-encoded or not), a token-endpoint JSON
error, or noise. Never raises; input beyond :data:`MAX_INPUT_CHARS` is ignored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote_plus

from integrations.entra.catalogue import (
    CRONOFY_APP_ID,
    OTHER_CRONOFY_APPS,
    PHRASE_REGEXES,
    code_rank,
)

logger = logging.getLogger(__name__)

MAX_INPUT_CHARS = 20_000

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Between a label and its value: "Correlation Id: x", "correlation_id":"x", Trace+ID%3a+x …
_SEP = r"""["']?[ \t]*[:=][ \t]*["']?"""
_TS = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:[.,][0-9]{1,9})?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)

_CODE = re.compile(r"(?<![A-Za-z0-9])AADSTS([0-9]{5,7})(?![0-9])", re.IGNORECASE)
_ERROR_CODE_FIELD = re.compile(
    r"\b(?:error[ _]?code|fehlercode|code d'erreur)[ \t]*[:=][ \t]*"
    r"(?:AADSTS)?([0-9]{5,7})(?![0-9])",
    re.IGNORECASE,
)
_ERROR_CODES_JSON = re.compile(r'"error_codes"[ \t]*:[ \t]*\[([0-9,\s]{1,200})\]')
_REQUEST_ID = re.compile(
    rf"(?:request[ _-]?id|anforderungs-?id|id de (?:la )?demande){_SEP}({_GUID})", re.IGNORECASE
)
_CORRELATION_ID = re.compile(
    rf"(?:correlation[ _-]?id|korrelations-?id|id de corr[ée]lation){_SEP}({_GUID})",
    re.IGNORECASE,
)
_TRACE_ID = re.compile(rf"(?:trace[ _-]?id){_SEP}({_GUID})", re.IGNORECASE)
_TIMESTAMP = re.compile(rf"(?:timestamp|zeitstempel|horodatage){_SEP}({_TS})", re.IGNORECASE)
_APP_NAME = re.compile(
    r"(?:app(?:lication)?[ _-]?name|app-name|anwendungsname|nom de l'application)"
    r"[ \t]*:[ \t]*([^\n]{1,200})",
    re.IGNORECASE,
)
_APP_ID = re.compile(
    rf"(?:app(?:lication)?[ _-]?id|client[ _-]?id|anwendungs-?id|id (?:de l')?application)"
    rf"{_SEP}({_GUID})",
    re.IGNORECASE,
)
_ANY_GUID = re.compile(_GUID)
_MESSAGE_FIELD = re.compile(
    r"(?:^|\n)[ \t]*(?:message|nachricht)[ \t]*:[ \t]*([^\n]{1,500})", re.IGNORECASE
)
_CODE_LINE = re.compile(r"AADSTS[0-9]{5,7}[ \t]*:[^\n]{0,500}", re.IGNORECASE)
_OAUTH_ERROR = re.compile(r"""(?:(?<![A-Za-z0-9_])error=|"error"[ \t]*:[ \t]*")([a-z_]{3,40})\b""")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_TS_PARTS = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:[.,]([0-9]+))?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?",
    re.IGNORECASE,
)

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200b": None,
        "\ufeff": None,
        "\r": "\n",
    }
)


@dataclass(frozen=True)
class ParsedError:
    """What could be read from a pasted error. Every field is optional."""

    #: AADSTS codes in order of appearance, e.g. ``("AADSTS65001", "AADSTS90094")``.
    codes: tuple[str, ...] = ()
    #: The most specific of :attr:`codes` (earliest row in the decision table).
    primary_code: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    trace_id: str | None = None
    #: Timezone-aware (UTC unless the text gave an offset).
    timestamp: datetime | None = None
    timestamp_text: str | None = None
    app_name: str | None = None
    app_id: str | None = None
    #: Cronofy application ids seen anywhere in the text (lower-case).
    cronofy_app_ids: tuple[str, ...] = ()
    #: The Microsoft message line ("AADSTS90094: The grant requires admin permission.").
    message: str | None = None
    #: Keys of recognised page phrases (see ``catalogue.PHRASES``), in catalogue order.
    phrases: tuple[str, ...] = ()
    #: An OAuth ``error`` value found in a pasted URL or JSON body (``access_denied`` …).
    oauth_error: str | None = None
    #: The input was longer than :data:`MAX_INPUT_CHARS` and was cut.
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.codes
            or self.phrases
            or self.request_id
            or self.correlation_id
            or self.trace_id
            or self.timestamp_text
            or self.app_id
            or self.app_name
            or self.oauth_error
        )

    @property
    def wrong_cronofy_app(self) -> str | None:
        """The id of another Cronofy app named instead of "Cronofy for Office 365", if any."""
        if self.app_id in OTHER_CRONOFY_APPS:
            return self.app_id
        if (
            self.app_id is None
            and self.cronofy_app_ids
            and CRONOFY_APP_ID not in self.cronofy_app_ids
        ):
            return self.cronofy_app_ids[0]
        return None


def parse_error_text(text: str) -> ParsedError:
    """Extract codes, ids, timestamp, app and known phrases. Never raises."""
    if not isinstance(text, str):
        return ParsedError()
    truncated = len(text) > MAX_INPUT_CHARS
    try:
        return _parse(text[:MAX_INPUT_CHARS], truncated)
    except Exception:  # pragma: no cover - defensive: a bad paste must never break a flow
        logger.exception("entra.parse_failed")
        return ParsedError(truncated=truncated)


def parse_timestamp(raw: str) -> datetime | None:
    """``2026-11-27T09:12:44Z`` / ``2026-11-27 09:12:44.1234567Z`` / ``…+01:00`` → aware."""
    match = _TS_PARTS.fullmatch(raw.strip())
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    try:
        value = datetime.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    if fraction:
        value = value.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    tz: timezone = UTC
    if zone and zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if zone[0] == "-" else offset)
    return value.replace(tzinfo=tz)


# --------------------------------------------------------------------------- internals


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").translate(_TRANSLATE)
    if _PERCENT.search(text) or "+AADSTS" in text or "error_description=" in text:
        decoded = unquote_plus(text).replace("\r\n", "\n").translate(_TRANSLATE)
        if decoded != text:
            # Keep both: decoding '+' would damage text that was never encoded.
            text = f"{text}\n{decoded}"
    return text


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _codes(text: str) -> list[str]:
    found: list[str] = [f"AADSTS{m.group(1)}" for m in _CODE.finditer(text)]
    found += [f"AADSTS{m.group(1)}" for m in _ERROR_CODE_FIELD.finditer(text)]
    for match in _ERROR_CODES_JSON.finditer(text):
        found += [
            f"AADSTS{n.strip()}"
            for n in match.group(1).split(",")
            if n.strip().isdigit() and 5 <= len(n.strip()) <= 7
        ]
    return list(dict.fromkeys(found))


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(
        phrase.key
        for phrase, regexes in PHRASE_REGEXES
        if any(regex.search(text) for regex in regexes)
    )


def _message(text: str) -> str | None:
    line = _first(_MESSAGE_FIELD, text)
    if line is None:
        match = _CODE_LINE.search(text)
        line = match.group(0) if match else None
    line = line.strip() if line else None
    return line or None


def _parse(raw: str, truncated: bool) -> ParsedError:
    text = _normalise(raw)
    codes = _codes(text)
    primary = min(codes, key=lambda c: (code_rank(c), codes.index(c))) if codes else None
    timestamp_text = _first(_TIMESTAMP, text)
    app_name = _first(_APP_NAME, text)
    app_id = _first(_APP_ID, text)
    known_ids = {CRONOFY_APP_ID, *OTHER_CRONOFY_APPS}
    cronofy_ids = dict.fromkeys(
        guid for guid in (m.group(0).lower() for m in _ANY_GUID.finditer(text)) if guid in known_ids
    )
    return ParsedError(
        codes=tuple(codes),
        primary_code=primary,
        request_id=_lower(_first(_REQUEST_ID, text)),
        correlation_id=_lower(_first(_CORRELATION_ID, text)),
        trace_id=_lower(_first(_TRACE_ID, text)),
        timestamp=parse_timestamp(timestamp_text) if timestamp_text else None,
        timestamp_text=timestamp_text,
        app_name=(app_name.strip().strip("\"',") or None) if app_name else None,
        app_id=_lower(app_id),
        cronofy_app_ids=tuple(cronofy_ids),
        message=_message(text),
        phrases=_phrases(text),
        oauth_error=_first(_OAUTH_ERROR, text),
        truncated=truncated,
    )


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None
