"""Bounces and the suppression list: record each bounce on its Delivery, suppress after 1 hard or N soft.

Processing the same bounce twice changes nothing: a Delivery counts at most one soft bounce and one
hard bounce, so re-reading a mailbox (a crash mid-run, an operator re-running the command) is safe.
"""

from __future__ import annotations

import logging
import mailbox
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from digest.delivery.bounce_parse import HARD, SOFT, BounceReport, bounce_parse
from digest.delivery.state import deliveries_suppress_address
from digest.models import Delivery, Suppression

logger = logging.getLogger(__name__)


def suppression_add(*, email: str, reason: str, source: str) -> tuple[Suppression, bool]:
    """The one way an address goes on the suppression list (a hard bounce, an SMTP refusal, an operator).

    Case-insensitive: an existing entry in any spelling is switched on rather than a second one made,
    and a new one stores the account's spelling when there is one (the senders match suppressions by
    exact address). Pending digests to the address are not sent. Returns the entry and whether it is new.
    """
    email = email.strip()
    account = User.objects.filter(email__iexact=email).values_list("email", flat=True).first()
    email = account or email
    reason = " ".join(reason.split())[:500]
    with transaction.atomic():
        suppression = Suppression.objects.select_for_update().filter(email__iexact=email).first()
        created = suppression is None
        if suppression is None:
            suppression = Suppression(email=email)
        suppression.reason = reason
        suppression.source = source
        suppression.active = True
        suppression.save()
        cancelled = deliveries_suppress_address(email=email, reason=f"Address suppressed: {reason}")
    logger.info("suppressed %s (%s): %s; %s pending digest(s) will not be sent", email, source, reason, cancelled)
    return suppression, created


@dataclass
class BounceOutcome:
    delivery_id: int | None
    kind: str | None
    suppressed: bool = False
    duplicate: bool = False


@transaction.atomic
def bounce_record(*, report: BounceReport) -> list[BounceOutcome]:
    """Record one parsed bounce on each Delivery it names, then suppress the address if due."""
    if report.kind is None or not report.delivery_ids:
        return [BounceOutcome(delivery_id=None, kind=None)]
    outcomes = []
    now = timezone.now()
    for delivery in Delivery.objects.select_for_update().filter(id__in=report.delivery_ids):
        outcomes.append(_bounce_record_one(delivery=delivery, report=report, now=now))
    return outcomes or [BounceOutcome(delivery_id=None, kind=None)]


def _bounce_record_one(*, delivery: Delivery, report: BounceReport, now) -> BounceOutcome:
    kind = report.kind
    if kind is None:  # bounce_record passes only reports with a kind
        return BounceOutcome(delivery_id=delivery.id, kind=None)
    # A hard bounce after a soft one (a delayed DSN, then the final failure) upgrades the record;
    # the same kind again is a re-read of the same report.
    if delivery.bounce_kind == kind or delivery.bounce_kind == HARD:
        return BounceOutcome(delivery_id=delivery.id, kind=kind, duplicate=True)
    first_soft = delivery.bounce_kind == ""
    delivery.bounce_kind = kind
    delivery.bounced_at = now
    delivery.last_error = report.summary
    delivery.save(update_fields=["bounce_kind", "bounced_at", "last_error"])
    email = delivery.to_email
    if kind == HARD:
        suppression_add(
            email=email, reason=f"hard bounce: {report.status} {report.diagnostic}".strip(), source="bounce"
        )
        logger.info("hard bounce for delivery %s: %s suppressed", delivery.id, email)
        return BounceOutcome(delivery_id=delivery.id, kind=kind, suppressed=True)
    if not first_soft:
        return BounceOutcome(delivery_id=delivery.id, kind=kind, duplicate=True)
    locked = Suppression.objects.select_for_update()
    suppression = (
        locked.filter(email__iexact=email).first()
        or locked.get_or_create(email=email, defaults={"reason": "soft bounces", "source": "bounce", "active": False})[
            0
        ]
    )
    suppression.soft_bounces += 1
    suppression.save(update_fields=["soft_bounces"])
    if not suppression.active and suppression.soft_bounces >= settings.PAPERBOY_SOFT_BOUNCE_LIMIT:
        reason = f"{suppression.soft_bounces} soft bounces, last: {report.status} {report.diagnostic}"
        suppression, _ = suppression_add(email=email, reason=reason, source="bounce")
    return BounceOutcome(delivery_id=delivery.id, kind=SOFT, suppressed=suppression.active)


@dataclass
class BounceRun:
    read: int = 0
    hard: int = 0
    soft: int = 0
    ignored: int = 0
    duplicates: int = 0
    suppressed: int = 0
    errors: int = 0


def bounces_process_maildir(*, path: Path, dry_run: bool = False) -> BounceRun:
    """Read every new message of a Maildir, record it, and move it to ``cur/`` marked seen.

    A message is moved only after its bounce is committed, so a crash re-reads it (harmlessly).
    """
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir (no new/ or cur/ folder)")
    box = mailbox.Maildir(str(path), factory=None, create=False)
    run = BounceRun()
    for key in list(box.keys()):
        message = box.get_message(key)
        if message.get_subdir() == "cur" and "S" in message.get_flags():
            continue  # read in an earlier run
        run.read += 1
        try:
            report = bounce_parse(box.get_bytes(key))
            outcomes = [BounceOutcome(delivery_id=None, kind=report.kind)] if dry_run else bounce_record(report=report)
        except Exception:
            logger.exception("bounce %s could not be processed", key)
            run.errors += 1
            continue
        for outcome in outcomes:
            if outcome.kind is None or (outcome.delivery_id is None and not dry_run):
                run.ignored += 1
            elif outcome.duplicate:
                run.duplicates += 1
            elif outcome.kind == HARD:
                run.hard += 1
            else:
                run.soft += 1
            run.suppressed += int(outcome.suppressed and not outcome.duplicate)
        if not dry_run:
            message.set_subdir("cur")
            message.add_flag("S")
            box[key] = message
    return run
