"""``make demo``: run the daily job end to end on the embedded sample papers and show the emails.

It ingests the sample papers, creates a few demo subscribers, starts the local SMTP sink in a
separate process, runs the day's digest so the emails really cross SMTP (through a real Celery
worker when REDIS_URL is set, in-process otherwise), and prints a short look at one email, then the
summary: where the messages are, and how to open a demo subscriber's archive once ``make run`` serves
the same database.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from email import message_from_binary_file, policy
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from digest.mailsink import free_port

DEMO_PAPERS = Path(__file__).resolve().parents[2] / "demo" / "papers.jsonl"
# Lin writes no query: her digest is "papers like these", from her library (issue 17).
DEMO_LIBRARY = ("lin@demo.paperboy.test", Path(__file__).resolve().parents[2] / "demo" / "library.bib", "UTC")

# Who the demo sends to, and what they care about.
DEMO_SUBSCRIBERS = [
    ("ada@demo.paperboy.test", ["diffusion", '"video generation"'], "Europe/London"),
    ("bo@demo.paperboy.test", ["reasoning LLM", '"chain of thought" OR "chain-of-thought"'], "America/New_York"),
    ("cy@demo.paperboy.test", ["robot OR robotics", '"reinforcement learning" -survey'], "Asia/Tokyo"),
    ("dee@demo.paperboy.test", ['"graph neural network"', "retrieval augmented"], "UTC"),
]
# Tess wrote no query: she gets the day's most upvoted papers (issue 19); Ada adds a Trending today section.
DEMO_TRENDING = "tess@demo.paperboy.test"
DEMO_SECTION = ("ada@demo.paperboy.test", 3)


class Command(BaseCommand):
    help = "Run the daily digest end to end on the embedded sample papers and show the emails."

    def handle(self, *args, **options) -> None:
        maildir = Path(settings.PAPERBOY_MAILDIR)
        shutil.rmtree(maildir, ignore_errors=True)
        self.step(f"Preparing the database ({database_describe()})")
        call_command("migrate", verbosity=0, interactive=False)
        self.step("Ingesting the sample papers")
        call_command("ingest_papers", jsonl=str(DEMO_PAPERS), stdout=self.stdout)
        self.step("Creating demo subscribers")
        # A fresh password each run, printed at the end: a demo account never has a guessable one, even
        # when someone points the demo at a shared database.
        password = secrets.token_urlsafe(9)
        for email, interests, tz in DEMO_SUBSCRIBERS:
            demo_subscriber_ensure(email=email, interests=interests, tz=tz, password=password)
            self.stdout.write(f"  {email:<28} {' | '.join(interests)}")
        demo_library_ensure(*DEMO_LIBRARY)
        self.stdout.write(f"  {DEMO_LIBRARY[0]:<28} papers like the 2 in {DEMO_LIBRARY[1].name}")
        demo_trending_ensure(trending=DEMO_TRENDING, section=DEMO_SECTION)
        self.stdout.write(f"  {DEMO_TRENDING:<28} (trending papers, no query)")

        port = free_port()
        self.step(f"Starting the SMTP sink on 127.0.0.1:{port}")
        sink = subprocess.Popen(
            [sys.executable, "manage.py", "mailsink", "--port", str(port), "--maildir", str(maildir)],
            cwd=settings.BASE_DIR,
        )
        try:
            wait_for_port(port)
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
            if settings.REDIS_URL:
                self.run_through_celery(port)
            else:
                self.step("Running today's digest (in-process; set REDIS_URL to use a Celery worker)")
                call_command("send_digests", stdout=self.stdout)
        finally:
            sink.terminate()
            sink.wait(timeout=10)
        self.show(maildir, password=password)

    def run_through_celery(self, port: int) -> None:
        from digest.delivery.plan import deliveries_plan
        from digest.dispatch import chunks_enqueue
        from digest.models import Delivery

        self.step("Running today's digest through a Celery worker on " + settings.REDIS_URL)
        env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "paperboy", "worker", "--pool", "solo", "--loglevel", "WARNING"],
            cwd=settings.BASE_DIR,
            env=env,
        )
        try:
            with transaction.atomic():
                plan = deliveries_plan(slot=timezone.now().date())
                chunks_enqueue(plan.chunks)
            ids = [i for chunk in plan.chunks for i in chunk]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                left = Delivery.objects.filter(id__in=ids, state__in=["pending", "sending"]).count()
                if not left:
                    break
                time.sleep(0.5)
            states = Delivery.objects.filter(run=plan.run)
            self.stdout.write(
                f"papers={plan.papers} subscribers={plan.planned} sent={states.filter(state='sent').count()} "
                f"skipped={states.filter(state='skipped').count()} failed={states.filter(state='failed').count()}"
            )
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    def show(self, maildir: Path, *, password: str) -> None:
        messages = sorted((maildir / "new").glob("*")) if (maildir / "new").is_dir() else []
        if not messages:
            raise CommandError("no email arrived at the SMTP sink; see the messages above")
        html_dir = maildir / "html"
        html_dir.mkdir(exist_ok=True)
        summary: list[str] = []
        first = None
        for path in messages:
            with path.open("rb") as handle:
                message = message_from_binary_file(handle, policy=policy.default)
            recipient = str(message["To"])
            # The HTML part as a file a browser opens, for a quick look without a mail client.
            html_path = html_dir / f"{recipient.split('@')[0]}.html"
            html_path.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
            first = first or message
            summary.append(f"  To: {recipient:<28} Subject: {message['Subject']}")
            summary.append(f"      {path}\n      {html_path}")
        if first is not None:
            self.step(f"A short look at the first email (to {first['To']}; the whole of it is in the files below)")
            self.stdout.write(email_glimpse(first.get_body(("plain",)).get_content()))
        self.step(f"{len(messages)} email(s) delivered to {maildir / 'new'}/ (one file per message)")
        for line in summary:
            self.stdout.write(line)
        site = settings.SITE_URL
        login_archive = f"{site}/accounts/login/?next=/archive/"
        self.step("See it on the website: run `make run` (it serves this same database), then open")
        self.stdout.write(f"  {login_archive}")
        self.stdout.write(f"  and log in as {DEMO_SUBSCRIBERS[0][0]} with the password {password}")
        self.stdout.write("  (every demo subscriber has that password until the next make demo).")
        self.stdout.write("  The links inside the demo emails work there too.")

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))


def email_glimpse(text: str, *, papers: int = 2) -> str:
    """The start of a digest's plain-text part: its greeting and first ``papers`` papers, without the
    feedback links (the files have them), so the summary after it stays on screen."""
    lines: list[str] = []
    seen = 0
    skip_url = False
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"^\d+\. ", stripped):
            seen += 1
            if seen > papers:
                lines.append("   …")
                break
        if skip_url:
            skip_url = False
            if stripped.startswith("http"):
                continue
        if re.match(r"^(More like this|Less like this|Mute |Follow |Not interested|Rate or mute)", stripped):
            skip_url = not stripped.rstrip().endswith("/")
            continue
        if not stripped and lines and not lines[-1].strip():
            continue
        lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def database_describe() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {db['NAME']}"
    return f"{db['ENGINE'].rsplit('.', 1)[-1]} database {db['NAME']} on {db.get('HOST') or 'localhost'}"


def demo_subscriber_ensure(*, email: str, interests: list[str], tz: str, password: str | None = None) -> None:
    from allauth.account.models import EmailAddress

    from accounts.models import User
    from digest.models import Interest, Subscription

    user, _ = User.objects.get_or_create(email=email)
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    subscription, created = Subscription.objects.get_or_create(user=user, defaults={"timezone": tz})
    if created:
        for position, query in enumerate(interests):
            Interest.objects.create(subscription=subscription, query=query, position=position)


def demo_trending_ensure(*, trending: str, section: tuple[str, int]) -> None:
    from digest.models import Subscription
    from digest.services.trending import subscription_trending_set

    demo_subscriber_ensure(email=trending, interests=[], tz="Europe/Berlin")
    for email, digest, size in ((trending, Subscription.Digest.TRENDING, 0), (section[0], "keywords", section[1])):
        subscription = Subscription.objects.get(user__email=email)
        subscription_trending_set(subscription=subscription, digest=digest, section=size)


def demo_library_ensure(email: str, path: Path, tz: str) -> None:
    from digest.library.services import library_import_file
    from digest.models import Subscription

    demo_subscriber_ensure(email=email, interests=[], tz=tz)
    subscription = Subscription.objects.get(user__email=email)
    if not subscription.library.exists():
        library_import_file(subscription=subscription, name=path.name, data=path.read_bytes())


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise CommandError(f"the SMTP sink did not start on port {port}")
