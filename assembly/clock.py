"""Time: stored as timezone-aware UTC, shown in Europe/London."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Return today's date in Europe/London (the date printed on notices)."""
    return utcnow().astimezone(LONDON).date()


def london(moment: datetime | None) -> str:
    """Format ``moment`` for people: ``22 November 2026, 5:34pm`` in Europe/London."""
    if moment is None:
        return ""
    local = moment.astimezone(LONDON)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{local.day} {local:%B %Y}, {hour}:{local:%M}{suffix}"


def age_on(born: date, day: date) -> int:
    """Return the age in whole years on ``day`` of someone born on ``born``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def long_date(day: date | None) -> str:
    """Format a date for people: ``22 November 2026``."""
    if day is None:
        return ""
    return f"{day.day} {day:%B %Y}"
