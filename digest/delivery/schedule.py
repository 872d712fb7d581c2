"""When a subscriber's digest is due: their slot, its send time in UTC, and the paper window's bounds.

Pure functions of a subscription's settings and the clock (no queries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.models import Subscription

logger = logging.getLogger(__name__)

# How far back a first digest (or one after a long pause) looks for papers.
FIRST_WINDOW: dict[str, timedelta] = {
    Subscription.Frequency.DAILY: timedelta(days=1),
    Subscription.Frequency.WEEKLY: timedelta(days=7),
}
MAX_WINDOW: dict[str, timedelta] = {
    Subscription.Frequency.DAILY: timedelta(days=7),
    Subscription.Frequency.WEEKLY: timedelta(days=14),
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A subscriber whose slot has come, with what planning needs to know about them."""

    subscription_id: int
    email: str
    slot: date
    send_at: datetime
    expires_at: datetime
    frequency: str
    max_papers: int
    muted: tuple[str, ...]
    quiet_day_note: bool = False
    # When the slot after this one opens (written with the row, so a planned slot is not looked at again).
    next_due_at: datetime | None = None


def subscriber_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A time zone removed from the tz database must not stop everyone else's digest.
        logger.warning("unknown time zone %r, using UTC", name)
        return ZoneInfo("UTC")


def slot_for(
    *, now: datetime, tz_name: str, send_hour: int, frequency: str, weekday: int, slot: date | None
) -> tuple[date, datetime] | None:
    """The slot due for one subscriber at ``now`` and its send time in UTC, or None if not due.

    With an explicit ``slot`` (an operator running a given date) the hour is ignored, but weekly
    subscribers still only get their weekday.
    """
    zone = subscriber_zone(tz_name)
    if slot is None:
        local_now = now.astimezone(zone)
        if local_now.hour < send_hour:
            return None
        day = local_now.date()
        send_at = datetime.combine(day, time(hour=send_hour), tzinfo=zone).astimezone(ZoneInfo("UTC"))
    else:
        day = slot
        send_at = now
    if frequency == Subscription.Frequency.WEEKLY and day.weekday() != weekday:
        return None
    return day, send_at


def send_time(*, day: date, tz_name: str, send_hour: int) -> datetime:
    """The UTC instant of ``send_hour`` on the local ``day``.

    An hour that does not exist that day (clocks spring forward over it) maps to the same wall time
    in the old offset, i.e. one hour later on the new clock; an hour that happens twice (clocks fall
    back) is its first occurrence. Either way exactly one instant per local day."""
    local = datetime.combine(day, time(hour=send_hour), tzinfo=subscriber_zone(tz_name))
    return local.astimezone(ZoneInfo("UTC"))


def next_due_from(*, day: date, tz_name: str, send_hour: int, frequency: str, weekday: int) -> datetime:
    """The send time of the first slot on or after the local ``day`` (weekly: the next ``weekday``)."""
    if frequency == Subscription.Frequency.WEEKLY:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return send_time(day=day, tz_name=tz_name, send_hour=send_hour)


def next_due_after_slot(*, slot: date, tz_name: str, send_hour: int, frequency: str, weekday: int) -> datetime:
    """When the slot after ``slot`` opens: counted in local dates, so a DST change never skips or repeats one."""
    return next_due_from(
        day=slot + timedelta(days=1), tz_name=tz_name, send_hour=send_hour, frequency=frequency, weekday=weekday
    )


def next_due_now(*, now: datetime, tz_name: str, send_hour: int, frequency: str, weekday: int) -> datetime:
    """After a change of hour, zone, frequency or pause: today's local slot (possibly already open,
    then due at once, as before the change) or the next one. A slot already planned is not planned
    again (UNIQUE subscriber + slot); the planner just moves on to the one after."""
    today = now.astimezone(subscriber_zone(tz_name)).date()
    return next_due_from(day=today, tz_name=tz_name, send_hour=send_hour, frequency=frequency, weekday=weekday)
