"""Paperboy's data: where papers come from, the papers, who wants what, and every email sent.

Models hold data; the business logic lives in ``digest/services`` and ``digest/selectors``, and every
change of ``Delivery.state`` in ``digest/delivery/state.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone


class Feed(models.Model):
    """A source of papers, fetched on a cadence once a moderator approved it."""

    class Kind(models.TextChoices):
        ARXIV = "arxiv", "arXiv API"
        ARXIV_RSS = "arxiv_rss", "arXiv daily listing (RSS/Atom)"
        HF_DAILY = "hf_daily", "Hugging Face Daily Papers"
        RSS = "rss", "RSS / Atom feed"
        JSONL = "jsonl", "JSON Lines file"

    class State(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        DISABLED = "disabled", "Disabled"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Overrides the source's default endpoint (a mirror, a local server) or names the file for jsonl.
    url = models.CharField(max_length=1000, blank=True)
    # Space-separated arXiv categories, e.g. "cs.LG cs.CL".
    categories = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.APPROVED, db_index=True)

    suggested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggested_feeds"
    )
    suggestion_reason = models.TextField(blank=True)
    rejection_reason = models.TextField(blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)

    cadence_minutes = models.PositiveIntegerField(default=60)
    next_fetch_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Where the next incremental fetch starts (last date / id seen), adapter-specific.
    cursor = models.JSONField(default=dict, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FeedRun(models.Model):
    """One fetch of one feed, as the admin shows it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        NOT_MODIFIED = "not_modified", "Not modified"
        PARTIAL = "partial", "Partial (some entries skipped)"
        FAILED = "failed", "Failed"

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # [{"entry": "line 3" / an id, "reason": "missing title"}, ...]
    skipped_reasons = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.feed} @ {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class Paper(models.Model):
    """One paper, whatever number of sources announced it."""

    # Canonical id: a bare arXiv id ("2401.01234", "hep-th/9901001") or "<source>:<id>" otherwise.
    external_id = models.CharField(max_length=255, unique=True)
    arxiv_id = models.CharField(max_length=64, blank=True, db_index=True)
    version = models.PositiveSmallIntegerField(null=True, blank=True)
    # Normalised title (case, whitespace, punctuation, LaTeX folded) used to merge id-less duplicates.
    title_key = models.CharField(max_length=255, db_index=True)
    title = models.TextField()
    abstract = models.TextField()
    authors = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    primary_category = models.CharField(max_length=64, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    pdf_url = models.URLField(max_length=1000, blank=True)
    hf_url = models.URLField(max_length=1000, blank=True)
    published = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)
    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.SET_NULL, related_name="papers")
    # Popularity where the source has one (Hugging Face upvotes); None when unknown.
    popularity = models.IntegerField(null=True, blank=True)
    num_comments = models.IntegerField(null=True, blank=True)
    # Source-specific extras: doi, comment, journal_ref, github, project_page, ai_summary, ai_keywords.
    extra = models.JSONField(default=dict, blank=True)
    hidden = models.BooleanField(default=False, db_index=True)
    hidden_reason = models.CharField(max_length=500, blank=True)
    flagged = models.BooleanField(default=False, db_index=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ingested_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-ingested_at", "-id"]
        indexes = [models.Index(fields=["hidden", "ingested_at"], name="paper_visible_recent")]

    def __str__(self) -> str:
        return self.title[:80]


class Subscription(models.Model):
    """A user's interests and delivery preferences (one per user)."""

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Digest(models.TextChoices):
        KEYWORDS = "keywords", "Papers matching my interests"
        TRENDING = "trending", "Trending papers (the day's most upvoted)"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription")
    muted_words = models.JSONField(default=list, blank=True)
    max_papers = models.PositiveSmallIntegerField(default=10)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    # 0 = Monday ... 6 = Sunday, used when weekly.
    weekday = models.PositiveSmallIntegerField(default=0)
    send_hour = models.PositiveSmallIntegerField(default=7)
    timezone = models.CharField(max_length=64, default="UTC")
    paused = models.BooleanField(default=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    quiet_day_note = models.BooleanField(default=False)
    # "trending": the window's top ``max_papers`` by community upvotes, no query needed (issue 19).
    digest = models.CharField(max_length=10, choices=Digest.choices, default=Digest.KEYWORDS)
    # arXiv categories a trending digest is limited to (empty: every category).
    trending_categories = models.JSONField(default=list, blank=True)
    # Keyword subscribers: up to this many trending papers their interests did not bring (0: no section).
    trending_section = models.PositiveSmallIntegerField(default=0)
    # Secret for the private Atom feed; regenerating it revokes the old URL.
    feed_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # When the next slot's send hour comes (UTC), so the beat reads only the subscribers due now.
    # Kept by digest.delivery.schedule's rules: set when the hour, zone, frequency or pause changes
    # and after each slot is planned. NULL (a new subscription) means "work it out at the next beat".
    next_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["unsubscribed_at", "paused"], name="subscription_active"),
            models.Index(
                fields=["next_due_at", "id"],
                name="subscription_next_due",
                condition=models.Q(paused=False, unsubscribed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Subscription of {self.user}"

    @property
    def is_active(self) -> bool:
        return not self.paused and self.unsubscribed_at is None


class Interest(models.Model):
    """One keyword query (in the matching engine's language) of a subscription."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="interests")
    query = models.CharField(max_length=500)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.query


class DeliveryRun(models.Model):
    """One planning pass of one slot (a digest date and send time), for the runs dashboard."""

    slot = models.DateField(db_index=True)
    started_at = models.DateTimeField(default=dj_timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    papers = models.PositiveIntegerField(default=0)
    planned = models.PositiveIntegerField(default=0)
    # Set when the planner wrote its last batch: until then a run with no open rows is not finished, only
    # between two batches (the sweeper must not stamp finished_at then).
    planning_finished_at = models.DateTimeField(null=True, blank=True)
    # Of ``planned``, the trending subscribers' digests (the runs dashboard shows them apart).
    trending = models.PositiveIntegerField(default=0)
    # The first ids of the shards queued for this run and not yet planned (the beat's sharded runs):
    # the shard that empties it stamps planning_finished_at. Each shard removes its own id, so a shard
    # planned twice (redelivered after its worker died) cannot finish the run early.
    shards_open = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Run {self.slot} @ {self.started_at:%H:%M}"


class Delivery(models.Model):
    """One digest email for one subscriber and one slot; its state machine guards exactly-once sending."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing matched)"
        EXPIRED = "expired", "Expired (send window passed)"
        SUPPRESSED = "suppressed", "Suppressed address"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        DIGEST = "digest", "Scheduled digest"
        TEST = "test", "Test digest"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    run = models.ForeignKey(DeliveryRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    # The digest date in the subscriber's time zone.
    slot = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DIGEST)
    # Indexed through the (state, next_attempt_at) and (state, slot) indexes in Meta, which start with it.
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    # When it should go out (UTC) and after when it must not go out any more.
    send_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    to_email = models.EmailField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    # The matched papers as sent: [{"paper": id, "score": f, "reasons": [...], ...}], so the archive
    # shows the digest exactly as it was emailed.
    content = models.JSONField(default=list, blank=True)
    paper_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    planned_at = models.DateTimeField(default=dj_timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker that moved the row to ``sending``; lets a claim be read back on any database.
    # Always looked up together with the primary key, so not indexed (every index costs each state change).
    claim_token = models.CharField(max_length=32, blank=True)
    # The papers considered: ingested in (window_start, window_end]; the next digest starts at window_end.
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_kind = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-slot", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "slot"], condition=Q(kind="digest"), name="one_digest_per_subscriber_slot"
            )
        ]
        indexes = [
            models.Index(fields=["state", "slot"], name="delivery_state_slot"),
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_retry"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} {self.slot} → {self.to_email or self.subscription_id} ({self.state})"


class SentPaper(models.Model):
    """A paper a subscriber has already received, so nobody gets the same paper twice."""

    # No index of its own: the UNIQUE (subscription, paper) index starts with it. Ten rows are written
    # per digest sent, so every index here is paid for on the sending path.
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="sent_papers", db_index=False)
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "paper"], name="paper_sent_once")]

    def __str__(self) -> str:
        return f"paper {self.paper_id} → subscription {self.subscription_id}"


class Suppression(models.Model):
    """An address we must not send to (hard bounce, permanent SMTP refusal, complaint)."""

    email = models.EmailField(unique=True)
    reason = models.CharField(max_length=500)
    source = models.CharField(max_length=20, default="smtp")  # smtp | bounce | complaint | admin
    soft_bounces = models.PositiveIntegerField(default=0)
    # Digests refused with a bare 5xx (no enhanced status code, so maybe not about the mailbox): the
    # address is suppressed when this reaches PAPERBOY_BOUNCE_SCORE_LIMIT (Mailman's bounce score).
    bounce_score = models.PositiveIntegerField(default=0)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    def __str__(self) -> str:
        return self.email


class SendingControl(models.Model):
    """A single row: the admin's pause switch and the circuit breaker's state."""

    paused = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(default=dj_timezone.now)

    def __str__(self) -> str:
        return f"Sending {'paused: ' + self.reason if self.paused else 'active'}"

    @classmethod
    def get(cls) -> SendingControl:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


# --------------------------------------------------------------------------------------------------
# Feedback and learned ranking (issue 9, "Beyond the inbox"). Logic lives in digest/feedback/.
# --------------------------------------------------------------------------------------------------


class Feedback(models.Model):
    """One reader action from a paper card: more/less like this, or mute one of its matched words.

    A like and a dislike of the same paper replace each other (the latest click wins); the same
    action twice is one row, so a link opened twice records once.
    """

    class Kind(models.TextChoices):
        LIKE = "like", "More like this"
        DISLIKE = "dislike", "Less like this"
        MUTE = "mute", "Mute a word"
        FOLLOW = "follow", "Follow an author"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="feedback")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The muted word or followed author; empty for like/dislike.
    word = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "paper", "kind", "word"], name="feedback_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.word or ''} paper {self.paper_id} by subscription {self.subscription_id}"


class RankerModel(models.Model):
    """A subscriber's learned ranking model (TF-IDF + linear classifier) as plain JSON, never a pickle."""

    subscription = models.OneToOneField(Subscription, on_delete=models.CASCADE, related_name="ranker")
    trained_at = models.DateTimeField(default=dj_timezone.now)
    # The newest Feedback id the model has seen: newer feedback means it is due for retraining.
    last_feedback_id = models.BigIntegerField(default=0)
    n_likes = models.PositiveIntegerField(default=0)
    n_dislikes = models.PositiveIntegerField(default=0)
    # {"version": 1, "vocabulary": {...}, "idf": [...], "coef": [...], "intercept": f}; {} = not enough feedback.
    params = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Ranker of subscription {self.subscription_id} ({self.n_likes}+/{self.n_dislikes}-)"


# --------------------------------------------------------------------------------------------------
# A subscriber's library: "papers like these" (issue 17). Logic lives in digest/library/.
# --------------------------------------------------------------------------------------------------


class LibraryPaper(models.Model):
    """A paper somebody has in their library, once however many libraries hold it."""

    # "arxiv:2001.08361", "doi:10.1145/x", or "title:<title key>" when the entry had neither.
    key = models.CharField(max_length=300, unique=True)
    title = models.TextField()
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    arxiv_id = models.CharField(max_length=64, blank=True, db_index=True)
    doi = models.CharField(max_length=255, blank=True, db_index=True)
    url = models.URLField(max_length=1000, blank=True)
    # The ingested paper it is, when Paperboy has it (never listed in that library's digests).
    paper = models.ForeignKey(Paper, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Its words counted once (digest.library.words.term_counts), so planning never tokenises it again.
    terms = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    def __str__(self) -> str:
        return self.title[:80]


class LibraryItem(models.Model):
    """One paper in one subscriber's library, and how it got there."""

    class Source(models.TextChoices):
        PASTE = "paste", "Pasted id or link"
        BIBTEX = "bibtex", "BibTeX file"
        RIS = "ris", "RIS file"
        ARCHIVE = "archive", "From your archive"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="library")
    paper = models.ForeignKey(LibraryPaper, on_delete=models.CASCADE, related_name="items")
    source = models.CharField(max_length=10, choices=Source.choices)
    added_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "paper"], name="library_paper_once")]

    def __str__(self) -> str:
        return f"{self.paper} in the library of subscription {self.subscription_id}"
