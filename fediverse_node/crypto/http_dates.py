"""HTTP dates (RFC 9110 section 5.6.7): written as IMF-fixdate, read in all three formats HTTP allows."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class InvalidHttpDate(ValueError):
    """The text is not an HTTP date."""


def format_http_date(moment: datetime) -> str:
    """`Sun, 06 Nov 1994 08:49:37 GMT`, independent of the locale; `moment` must be timezone-aware."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    utc = moment.astimezone(timezone.utc)
    return (f"{_WEEKDAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT")


def parse_http_date(text: str) -> datetime:
    """Read an IMF-fixdate, an obsolete RFC 850 date or an asctime date as an aware UTC datetime."""
    value = text.strip()
    fields = (_match_imf_fixdate(value) or _match_rfc850_date(value) or _match_asctime_date(value))
    if fields is None:
        raise InvalidHttpDate(f"not an HTTP date: {text!r}")
    year, month_name, day, hour, minute, second = fields
    try:
        return datetime(year, _MONTHS.index(month_name) + 1, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError as error:
        raise InvalidHttpDate(f"not an HTTP date: {text!r} ({error})") from error


_Fields = tuple[int, str, int, int, int, int]


def _match_imf_fixdate(value: str) -> _Fields | None:
    match = re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9][0-9]) ([A-Z][a-z]{2}) ([0-9]{4}) "
                         r"([0-9][0-9]):([0-9][0-9]):([0-9][0-9]) GMT", value)
    if match is None or match.group(3) not in _MONTHS:
        return None
    return (int(match.group(4)), match.group(3), int(match.group(2)),
            int(match.group(5)), int(match.group(6)), int(match.group(7)))


def _match_rfc850_date(value: str) -> _Fields | None:
    match = re.fullmatch(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
                         r"([0-9][0-9])-([A-Z][a-z]{2})-([0-9][0-9]) "
                         r"([0-9][0-9]):([0-9][0-9]):([0-9][0-9]) GMT", value)
    if match is None or match.group(3) not in _MONTHS:
        return None
    two_digit_year = int(match.group(4))
    year = 1900 + two_digit_year if two_digit_year >= 70 else 2000 + two_digit_year
    return (year, match.group(3), int(match.group(2)),
            int(match.group(5)), int(match.group(6)), int(match.group(7)))


def _match_asctime_date(value: str) -> _Fields | None:
    match = re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ 0-9][0-9]) "
                         r"([0-9][0-9]):([0-9][0-9]):([0-9][0-9]) ([0-9]{4})", value)
    if match is None or match.group(2) not in _MONTHS:
        return None
    return (int(match.group(7)), match.group(2), int(match.group(3).strip()),
            int(match.group(4)), int(match.group(5)), int(match.group(6)))
