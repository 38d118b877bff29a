"""Durations on the command line: `30d`, `12h`, `15m`, `90s` (or a bare number of seconds)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_PATTERN = re.compile(r"(\d+)([smhd]?)")


def parse_duration(text: str) -> int:
    """Seconds in `text`; ValueError saying what is accepted when it is not a positive duration."""
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit, such as 30d, 12h, 15m or 90s")
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def format_duration(seconds: int) -> str:
    """The largest whole unit that fits: 86400 -> `1d`, 900 -> `15m`, 90 -> `90s`."""
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
