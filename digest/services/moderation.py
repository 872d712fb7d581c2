"""What moderators and operators do: feeds, papers, addresses, deliveries and the sending switch.

Every action writes a Django admin ``LogEntry`` (who, what, when), whatever called it (an admin
action, a form, a shell), so the history in the admin is complete. Functions raise
:class:`ModerationError` with a message meant for the operator when an action does not apply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import User
from digest.content import content_paper_replace
from digest.delivery.bounces import suppression_add
from digest.delivery.envelope import message_id_make
from digest.delivery.state import deliveries_requeue_failed, delivery_requeue
from digest.dispatch import deliveries_enqueue, feed_fetch_enqueue
from digest.ingest.arxiv import ARXIV_CATEGORY_RE
from digest.ingest.netguard import host_literal_refusal
from digest.models import Delivery, Feed, Paper, SendingControl, SentPaper, Suppression
from digest.selectors.moderation import deliveries_pending_with_paper, suppressions_active_for

logger = logging.getLogger(__name__)

# A subscriber may have this many suggestions waiting for review at once (keeps the queue spam-free).
MAX_PENDING_SUGGESTIONS = 5
_SUGGESTABLE = {Feed.Kind.RSS, Feed.Kind.ARXIV, Feed.Kind.HF_DAILY}


class ModerationError(Exception):
    """An action that does not apply to this object; the message is shown to the operator as is."""


def _log(*, by: User, objects: Iterable[Model], message: str, flag: int = CHANGE) -> None:
    objects = list(objects)
    if objects:
        LogEntry.objects.log_actions(user_id=by.pk, queryset=objects, action_flag=flag, change_message=message)


def _one_line(text: str, *, limit: int = 500) -> str:
    """Collapse whitespace (no CR/LF can reach a header or a log line) and cap the length."""
    return " ".join(text.split())[:limit]


# --- Feeds ---------------------------------------------------------------------------------------


def feed_suggest(*, user: User, kind: str, target: str, reason: str) -> Feed:
    """A subscriber proposes a source; it waits as ``pending`` until a moderator decides."""
    if kind not in _SUGGESTABLE:
        raise ValidationError({"kind": "Choose an RSS/Atom feed, an arXiv category or Hugging Face Daily Papers."})
    target = target.strip()
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Tell the moderators why this source is useful."})
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2000 characters."})

    url, categories, name = _suggestion_target(kind=kind, target=target)
    pending = Feed.objects.filter(suggested_by=user, state=Feed.State.PENDING).count()
    if pending >= MAX_PENDING_SUGGESTIONS:
        raise ValidationError(
            f"You already have {pending} suggestions waiting for review; please wait for a decision on those."
        )

    existing = Feed.objects.filter(kind=kind, url=url, categories=categories).first()
    if existing is not None and existing.state != Feed.State.REJECTED:
        state = "is already pending review" if existing.state == Feed.State.PENDING else "is already known"
        # Not the feed's name: an operator's private feeds must not become discoverable by URL guessing.
        raise ValidationError(f"This source {state}.")
    with transaction.atomic():
        if existing is not None:
            # Suggested again after a rejection: reopen the same row so its history stays in one place.
            feed = existing
        else:
            feed = Feed(kind=kind, url=url, categories=categories, name=_unique_feed_name(name))
        feed.state = Feed.State.PENDING
        feed.enabled = False
        feed.suggested_by = user
        feed.suggestion_reason = reason
        feed.rejection_reason = ""
        feed.moderated_by = None
        feed.moderated_at = None
        feed.save()
    return feed


def _suggestion_target(*, kind: str, target: str) -> tuple[str, str, str]:
    """(url, categories, display name) of a suggestion, or a ValidationError saying what is wrong."""
    if kind == Feed.Kind.ARXIV:
        cats = [c for c in re.split(r"[\s,]+", target) if c]
        if not cats:
            raise ValidationError({"target": "Give at least one arXiv category, e.g. cs.LG."})
        bad = [c for c in cats if not ARXIV_CATEGORY_RE.match(c) or len(c) > 40]
        if bad or len(cats) > 10:
            raise ValidationError({"target": "Use arXiv category names such as cs.LG or astro-ph.CO (at most 10)."})
        categories = " ".join(sorted(dict.fromkeys(cats)))
        return "", categories, f"arXiv {categories}"
    if kind == Feed.Kind.HF_DAILY and not target:
        return "", "", "Hugging Face Daily Papers"
    try:
        URLValidator(schemes=["http", "https"])(target)
    except ValidationError:
        raise ValidationError({"target": "Give the full address of the feed, starting with https://."}) from None
    if len(target) > 1000:
        raise ValidationError({"target": "That address is too long (1000 characters at most)."})
    if host_literal_refusal(urlsplit(target).hostname or ""):
        # The fetcher would refuse it anyway (digest/ingest/netguard.py); say so now, not after approval.
        raise ValidationError({"target": "Give the public address of the feed, not a local or private one."})
    label = "Hugging Face" if kind == Feed.Kind.HF_DAILY else "RSS"
    return target, "", f"{label}: {target.split('://', 1)[1]}"


def _unique_feed_name(name: str) -> str:
    base = _one_line(name, limit=190)
    candidate, n = base, 2
    while Feed.objects.filter(name=candidate).exists():
        candidate, n = f"{base} ({n})", n + 1
    return candidate


def feed_approve(*, feed: Feed, by: User) -> bool:
    """Trust a feed: it is fetched from now on. Returns False when it already was approved."""
    if feed.state == Feed.State.APPROVED and feed.enabled:
        return False
    feed.state = Feed.State.APPROVED
    feed.enabled = True
    feed.rejection_reason = ""
    feed.moderated_by = by
    feed.moderated_at = timezone.now()
    # Due now: the scheduler picks it up on its next tick; "fetch now" is still there for the impatient.
    feed.next_fetch_at = feed.moderated_at
    feed.save(update_fields=["state", "enabled", "rejection_reason", "moderated_by", "moderated_at", "next_fetch_at"])
    _log(by=by, objects=[feed], message="Approved feed")
    return True


@dataclass(frozen=True)
class RejectOutcome:
    feed: Feed
    # Whether the suggester was emailed; mail_error says why not when they should have been.
    notified: bool
    mail_error: str = ""


def feed_reject(*, feed: Feed, by: User, reason: str) -> RejectOutcome:
    """Turn a suggestion down with a reason; the suggester gets an email saying why."""
    reason = reason.strip()
    if not reason:
        raise ModerationError("A rejection needs a reason: the person who suggested the feed will read it.")
    with transaction.atomic():
        # Locked and re-read: two moderators rejecting at once must not email the suggester twice.
        locked = Feed.objects.select_for_update().get(pk=feed.pk)
        if locked.state != Feed.State.PENDING:
            state = locked.get_state_display().lower()
            raise ModerationError(f"“{feed.name}” is {state}; only pending feeds are rejected.")
        feed.state = Feed.State.REJECTED
        feed.enabled = False
        feed.rejection_reason = reason[:2000]
        feed.moderated_by = by
        feed.moderated_at = timezone.now()
        feed.save(update_fields=["state", "enabled", "rejection_reason", "moderated_by", "moderated_at"])
    _log(by=by, objects=[feed], message=f"Rejected feed: {_one_line(reason, limit=300)}")

    if feed.suggested_by is None or not feed.suggested_by.email:
        return RejectOutcome(feed=feed, notified=False)
    # The decision stands even when the mail server is down; the moderator is told, nothing is lost.
    try:
        _rejection_email(feed=feed).send(fail_silently=False)
    except Exception as exc:  # any SMTP/socket error: report it, keep the rejection
        logger.warning("Could not email the rejection of feed %s: %s", feed.pk, exc)
        return RejectOutcome(feed=feed, notified=False, mail_error=str(exc) or exc.__class__.__name__)
    return RejectOutcome(feed=feed, notified=True)


def _rejection_email(*, feed: Feed) -> EmailMessage:
    # The subject is fixed text: nothing the suggester typed reaches a header.
    source = feed.url or feed.categories or feed.get_kind_display()
    body = (
        "Hello,\n\n"
        "Thank you for suggesting a source to Paperboy. A moderator reviewed it and decided not to add it.\n\n"
        f"Source: {source}\n"
        f"Your reason: {feed.suggestion_reason}\n\n"
        f"The moderator's reason:\n{feed.rejection_reason}\n\n"
        "You can suggest another source from your preferences page at any time.\n\n"
        f"-- \nPaperboy, {settings.SITE_URL}\n"
    )
    return EmailMessage(
        subject="Your feed suggestion was not accepted",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[feed.suggested_by.email],
    )


def feed_disable(*, feed: Feed, by: User, reason: str = "") -> bool:
    """Stop fetching a feed (its papers stay). Returns False when it already was disabled."""
    if feed.state == Feed.State.DISABLED and not feed.enabled:
        return False
    feed.state = Feed.State.DISABLED
    feed.enabled = False
    feed.moderated_by = by
    feed.moderated_at = timezone.now()
    feed.save(update_fields=["state", "enabled", "moderated_by", "moderated_at"])
    suffix = f": {_one_line(reason, limit=300)}" if reason.strip() else ""
    _log(by=by, objects=[feed], message=f"Disabled feed{suffix}")
    return True


def feed_fetch_now(*, feed: Feed, by: User) -> None:
    """Queue an ingest of an approved feed once the current transaction commits."""
    if feed.state != Feed.State.APPROVED or not feed.enabled:
        raise ModerationError(f"“{feed.name}” is {feed.get_state_display().lower()}; approve it before fetching.")
    feed_fetch_enqueue(feed_id=feed.pk)
    _log(by=by, objects=[feed], message="Queued a fetch")


# --- Papers --------------------------------------------------------------------------------------


def paper_hide(*, papers: Iterable[Paper], by: User, reason: str = "") -> int:
    """Keep papers out of every digest from now on, including digests planned but not sent yet.

    Planned digests keep their stored ``content``: the send path renders only papers that are still
    visible (``papers_visible_by_id``), so unhiding a paper before the send puts it back.
    """
    reason = _one_line(reason) or "Hidden by a moderator"
    targets = [p for p in papers if not p.hidden]
    if not targets:
        return 0
    Paper.objects.filter(pk__in=[p.pk for p in targets]).update(hidden=True, hidden_reason=reason)
    for paper in targets:
        paper.hidden, paper.hidden_reason = True, reason
    _log(by=by, objects=targets, message=f"Hid paper: {reason}")
    return len(targets)


def paper_unhide(*, papers: Iterable[Paper], by: User) -> int:
    targets = [p for p in papers if p.hidden and p.duplicate_of_id is None]
    if not targets:
        return 0
    Paper.objects.filter(pk__in=[p.pk for p in targets]).update(hidden=False, hidden_reason="")
    for paper in targets:
        paper.hidden, paper.hidden_reason = False, ""
    _log(by=by, objects=targets, message="Unhid paper")
    return len(targets)


def paper_unflag(*, papers: Iterable[Paper], by: User) -> int:
    """A moderator looked at a flagged paper and found it fine."""
    targets = [p for p in papers if p.flagged]
    if not targets:
        return 0
    Paper.objects.filter(pk__in=[p.pk for p in targets]).update(flagged=False)
    _log(by=by, objects=targets, message="Reviewed: cleared the flag")
    return len(targets)


_MERGE_BLANKS = ("arxiv_id", "url", "pdf_url", "hf_url", "primary_category")


def paper_mark_duplicate(*, duplicate: Paper, canonical: Paper, by: User) -> Paper:
    """Merge ``duplicate`` into ``canonical``: one paper remains, nobody gets it twice.

    The duplicate is hidden and points at the canonical paper; what only the duplicate knew (links,
    categories, popularity) moves over; subscribers who received the duplicate count as having
    received the canonical one; planned digests carry the canonical paper instead.
    Returns the canonical paper actually used (the root when ``canonical`` is itself a duplicate).
    """
    root, seen = canonical, set()
    while root.duplicate_of_id is not None and root.pk not in seen:
        seen.add(root.pk)
        root = Paper.objects.get(pk=root.duplicate_of_id)
    if root.pk == duplicate.pk:
        raise ModerationError("A paper cannot be a duplicate of itself (or of one of its own duplicates).")

    with transaction.atomic():
        root = Paper.objects.select_for_update().get(pk=root.pk)
        _paper_merge_fields(into=root, source=duplicate)
        root.save()
        duplicate.duplicate_of = root
        duplicate.hidden = True
        duplicate.hidden_reason = f"Duplicate of paper #{root.pk}"
        duplicate.save(update_fields=["duplicate_of", "hidden", "hidden_reason", "updated_at"])
        # Earlier duplicates of the duplicate now point straight at the survivor.
        Paper.objects.filter(duplicate_of=duplicate).update(duplicate_of=root, hidden_reason=duplicate.hidden_reason)
        received = SentPaper.objects.filter(paper=duplicate).values_list("subscription_id", "delivery_id", "sent_at")
        SentPaper.objects.bulk_create(
            [SentPaper(subscription_id=s, paper=root, delivery_id=d, sent_at=t) for s, d, t in received],
            ignore_conflicts=True,
        )
        _pending_content_replace(old_id=duplicate.pk, new_id=root.pk)
    _log(by=by, objects=[duplicate], message=f"Marked as duplicate of paper #{root.pk}")
    _log(by=by, objects=[root], message=f"Merged duplicate paper #{duplicate.pk} into this one")
    return root


def _paper_merge_fields(*, into: Paper, source: Paper) -> None:
    for name in _MERGE_BLANKS:
        if not getattr(into, name) and getattr(source, name):
            setattr(into, name, getattr(source, name))
    into.categories = list(dict.fromkeys([*(into.categories or []), *(source.categories or [])]))
    if into.published is None or (source.published is not None and source.published < into.published):
        into.published = source.published
    for name in ("popularity", "num_comments"):
        values = [v for v in (getattr(into, name), getattr(source, name)) if v is not None]
        setattr(into, name, max(values) if values else None)
    into.extra = {**(source.extra or {}), **(into.extra or {})}


def _pending_content_replace(*, old_id: int, new_id: int) -> None:
    """In planned digests, swap a merged paper for its survivor (or drop it if already there/received)."""
    for delivery in deliveries_pending_with_paper(paper_id=old_id).select_for_update():
        already = SentPaper.objects.filter(subscription_id=delivery.subscription_id, paper_id=new_id).exists()
        content = content_paper_replace(delivery.content, old_id=old_id, new_id=new_id, already_sent=already)
        delivery.content = content
        delivery.paper_count = len(content)
        delivery.save(update_fields=["content", "paper_count"])


# --- Addresses and deliveries -------------------------------------------------------------------


def address_suppress(*, email: str, by: User, reason: str) -> Suppression:
    """Never send to this address again (until unsuppressed); planned digests to it are not sent."""
    reason = _one_line(reason) or "Suppressed by an operator"
    suppression, created = suppression_add(email=email, reason=reason, source="admin")
    _log(by=by, objects=[suppression], message=f"Suppressed address: {reason}", flag=ADDITION if created else CHANGE)
    return suppression


def address_unsuppress(*, suppression: Suppression, by: User) -> bool:
    if not suppression.active:
        return False
    suppression.active = False
    suppression.save(update_fields=["active"])
    _log(by=by, objects=[suppression], message="Lifted the suppression")
    return True


def addresses_unsuppress(*, emails: Iterable[str], by: User) -> int:
    """Lift the active suppressions of these addresses, whatever their case; returns how many."""
    with transaction.atomic():
        lifted = list(suppressions_active_for(emails=emails).select_for_update())
        Suppression.objects.filter(pk__in=[s.pk for s in lifted]).update(active=False)
    _log(by=by, objects=lifted, message="Lifted the suppression")
    return len(lifted)


_RESENDABLE = {
    Delivery.State.SENT,
    Delivery.State.FAILED,
    Delivery.State.EXPIRED,
    Delivery.State.SUPPRESSED,
    Delivery.State.CANCELLED,
}


def delivery_resend(*, delivery: Delivery, by: User) -> Delivery:
    """Send one digest again (lost mail, fixed address): back to ``pending``, due now, with a fresh window."""
    if delivery.state not in _RESENDABLE:
        raise ModerationError(_not_resendable(delivery))
    if not delivery.content:
        raise ModerationError("This digest has no papers in it; there is nothing to resend.")
    address = delivery.to_email or delivery.subscription.user.email
    if Suppression.objects.filter(email__iexact=address, active=True).exists():
        raise ModerationError("This address is suppressed; lift the suppression before resending.")
    now = timezone.now()
    # A new Message-ID: mail providers drop a second message with an id they have already seen.
    # Conditional on the state read above: of two operators resending at once, one wins.
    if not delivery_requeue(delivery=delivery, now=now, expires_at=now + _send_window(), message_id=message_id_make()):
        raise ModerationError("This digest changed meanwhile (someone else resent it?); reload and try again.")
    _log(by=by, objects=[delivery], message="Queued the digest to be sent again")
    deliveries_enqueue(delivery_ids=[delivery.pk])
    return delivery


def _not_resendable(delivery: Delivery) -> str:
    if delivery.state in {Delivery.State.PENDING, Delivery.State.SENDING}:
        return "This digest is already queued or being sent."
    if delivery.state == Delivery.State.SKIPPED:
        return "This digest was skipped because nothing matched; there is nothing to resend."
    return f"A {delivery.get_state_display().lower()} digest cannot be resent."


def deliveries_retry_failed(*, by: User, slot=None, deliveries: Iterable[Delivery] | None = None) -> int:
    """Put failed digests (of one slot, or the given ones) back in the queue with a fresh send window."""
    rows = Delivery.objects.filter(state=Delivery.State.FAILED)
    if slot is not None:
        rows = rows.filter(slot=slot)
    if deliveries is not None:
        rows = rows.filter(pk__in=[d.pk for d in deliveries])
    now = timezone.now()
    with transaction.atomic():
        targets = list(rows.select_for_update().order_by("id"))
        deliveries_requeue_failed(delivery_ids=[d.pk for d in targets], now=now, expires_at=now + _send_window())
    _log(by=by, objects=targets, message="Retry requested for a failed digest")
    deliveries_enqueue(delivery_ids=[d.pk for d in targets])
    return len(targets)


def _send_window() -> timedelta:
    return timedelta(hours=settings.PAPERBOY_SEND_WINDOW_HOURS)


def sending_pause(*, by: User, reason: str) -> SendingControl:
    """Stop all digest sending at once (workers check the switch before every message)."""
    control = SendingControl.get()
    control.paused = True
    control.reason = _one_line(reason) or f"Paused by {by.email}"
    control.changed_at = timezone.now()
    control.save(update_fields=["paused", "reason", "changed_at"])
    _log(by=by, objects=[control], message=f"Paused sending: {control.reason}")
    return control


def sending_resume(*, by: User) -> SendingControl:
    control = SendingControl.get()
    control.paused = False
    control.reason = ""
    control.changed_at = timezone.now()
    control.save(update_fields=["paused", "reason", "changed_at"])
    _log(by=by, objects=[control], message="Resumed sending")
    return control
