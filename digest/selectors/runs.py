"""The runs dashboard: how each slot's digests went out, and which failed with what SMTP reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet, Sum

from digest.delivery.complaints import COMPLAINT
from digest.models import Delivery, DeliveryRun

# The outcomes shown as columns, in the order an operator reads them.
OUTCOMES = ("pending", "sending", "sent", "skipped", "failed", "expired", "suppressed", "cancelled")


@dataclass(frozen=True)
class SlotStats:
    slot: date
    planned: int
    counts: dict[str, int]
    papers: int
    runs: int
    started_at: datetime | None
    finished_at: datetime | None  # when every run of the slot was planned in full and had nothing left open
    planning: bool  # a run of the slot is still being planned
    complaints: int  # readers who marked a digest of the slot as spam (ARF reports, process_bounces)
    duration: timedelta | None
    emails_per_second: float | None
    # Of ``planned``: the trending subscribers' digests (issue 19), as their runs counted them.
    trending: int = 0

    @property
    def duration_text(self) -> str:
        return duration_text(self.duration)

    def __getattr__(self, name: str) -> int:
        # Lets templates say {{ stats.sent }}; only for the outcome names.
        if name in OUTCOMES:
            return self.counts.get(name, 0)
        raise AttributeError(name)


def slot_stats_recent(*, today: date, days: int = 7) -> list[SlotStats]:
    """One row per digest slot in the last ``days`` days (newest first), from two grouped queries."""
    since = today - timedelta(days=days - 1)
    per_state = {f"n_{state}": Count("pk", filter=Q(state=state)) for state in OUTCOMES}
    deliveries = (
        Delivery.objects.filter(kind=Delivery.Kind.DIGEST, slot__gte=since)
        .order_by()
        .values("slot")
        .annotate(
            planned=Count("pk"),
            first_claim=Min("claimed_at"),
            first_sent=Min("sent_at"),
            last_sent=Max("sent_at"),
            complaints=Count("pk", filter=Q(bounce_kind=COMPLAINT)),
        )
        .annotate(**per_state)
    )
    runs = {
        row["slot"]: row
        for row in DeliveryRun.objects.filter(slot__gte=since)
        .order_by()
        .values("slot")
        .annotate(
            runs=Count("pk"),
            started=Min("started_at"),
            finished=Max("finished_at"),
            open_runs=Count("pk", filter=Q(finished_at__isnull=True)),
            planning=Count("pk", filter=Q(planning_finished_at__isnull=True, finished_at__isnull=True)),
            papers=Max("papers"),
            trending=Sum("trending"),
        )
    }
    by_slot = {row["slot"]: row for row in deliveries}
    stats = []
    for slot in sorted(set(by_slot) | set(runs), reverse=True):
        row = by_slot.get(slot, {})
        run = runs.get(slot, {})
        counts = {state: row.get(f"n_{state}", 0) for state in OUTCOMES}
        duration, rate = _throughput(
            sent=counts["sent"],
            start=_earliest(row.get("first_claim"), row.get("first_sent")),
            end=row.get("last_sent"),
        )
        stats.append(
            SlotStats(
                slot=slot,
                planned=row.get("planned", 0),
                counts=counts,
                papers=run.get("papers") or 0,
                runs=run.get("runs", 0),
                started_at=run.get("started"),
                finished_at=run.get("finished") if run and not run.get("open_runs") else None,
                planning=bool(run.get("planning")),
                complaints=row.get("complaints", 0),
                duration=duration,
                emails_per_second=rate,
                trending=run.get("trending") or 0,
            )
        )
    return stats


def duration_text(duration: timedelta | None) -> str:
    """ "4.4 s", "3 min 05 s", "1 h 02 min": what an operator reads at a glance."""
    if duration is None:
        return "—"
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _earliest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _throughput(*, sent: int, start: datetime | None, end: datetime | None) -> tuple[timedelta | None, float | None]:
    """Sending time (first claim to last accepted message) and messages per second over it."""
    if start is None or end is None or end < start:
        return None, None
    duration = end - start
    seconds = duration.total_seconds()
    return duration, (round(sent / seconds, 2) if seconds > 0 else None)


def slot_failures(*, slot: date, limit: int = 200) -> QuerySet[Delivery]:
    """Failed digests of a slot, and pending ones being retried, with the SMTP reply each got."""
    return (
        Delivery.objects.filter(slot=slot, kind=Delivery.Kind.DIGEST)
        .filter(Q(state=Delivery.State.FAILED) | Q(state=Delivery.State.PENDING, attempts__gt=0))
        .exclude(last_error="")
        .select_related("subscription__user")
        .only(
            "id", "slot", "state", "to_email", "attempts", "last_error", "next_attempt_at",
            "subscription__id", "subscription__user__id", "subscription__user__email",
        )
        .order_by("-state", "id")[:limit]
    )  # fmt: skip
