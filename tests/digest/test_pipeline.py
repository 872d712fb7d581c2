"""The daily digest end to end: plan → match → render → send over a real SMTP server on loopback."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from django.core.management import call_command

from digest.delivery.plan import deliveries_plan
from digest.delivery.send import deliveries_send
from digest.mailsink import MemoryHandler, free_port, sink_start
from digest.models import Delivery, SentPaper, Suppression
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def papers_of_the_day(now: datetime = MORNING) -> dict[str, object]:
    """Four papers ingested an hour before the morning run."""
    at = now - timedelta(hours=1)
    return {
        "diffusion": paper_make(
            title="Sharper Video Diffusion with Temporal Guidance",
            abstract="We study diffusion models for video generation and propose temporal guidance.",
            ingested_at=at,
        ),
        "llm": paper_make(
            title="Teaching LLMs to Check Their Reasoning",
            abstract="Large language models make reasoning errors; we train them to verify each step.",
            ingested_at=at,
        ),
        "robot": paper_make(
            title="A Robot That Folds Laundry",
            abstract="We present a robot policy for deformable objects.",
            ingested_at=at,
        ),
        "other": paper_make(
            title="Tax Policy in Small Open Economies",
            abstract="An economic analysis with no machine learning at all.",
            ingested_at=at,
        ),
    }


def send_day(day: date | None = None) -> str:
    day = day or MORNING.date()
    out = io.StringIO()
    call_command("send_digests", date=day.isoformat(), stdout=out)
    return out.getvalue().strip()


def by_recipient(sink: MemoryHandler) -> dict[str, EmailMessage]:
    messages = {}
    for received in sink.received:
        assert len(received.rcpt_tos) == 1
        messages[received.rcpt_tos[0]] = received.message
    return messages


def body(message: EmailMessage, subtype: str) -> str:
    return message.get_body((subtype,)).get_content()


@time_machine.travel(MORNING, tick=False)
def test_whole_day_sends_the_right_papers_to_the_right_people(smtp_sink):
    papers = papers_of_the_day()
    ada = subscriber_make(email="ada@example.org", interests=["diffusion", '"video generation"'])
    bo = subscriber_make(email="bo@example.org", interests=["reasoning LLM"])
    subscriber_make(email="cy@example.org", interests=["robot"], verified=False)
    dee = subscriber_make(email="dee@example.org", interests=["quantum chromodynamics"])

    summary = send_day()

    assert summary == "2026-03-10: papers=4 subscribers=3 sent=2 skipped=1 failed=0"
    received = by_recipient(smtp_sink)
    assert set(received) == {"ada@example.org", "bo@example.org"}
    assert "Sharper Video Diffusion" in body(received["ada@example.org"], "plain")
    assert "Teaching LLMs" not in body(received["ada@example.org"], "plain")
    assert "Teaching LLMs to Check Their Reasoning" in body(received["bo@example.org"], "plain")
    assert "Laundry" not in body(received["bo@example.org"], "plain")
    assert Delivery.objects.get(subscription=ada).state == Delivery.State.SENT
    assert Delivery.objects.get(subscription=bo).state == Delivery.State.SENT
    assert Delivery.objects.get(subscription=dee).state == Delivery.State.SKIPPED
    assert set(SentPaper.objects.filter(subscription=ada).values_list("paper_id", flat=True)) == {
        papers["diffusion"].id
    }


@time_machine.travel(MORNING, tick=False)
def test_every_message_is_multipart_alternative_with_text_first_and_inlined_styles(smtp_sink):
    papers_of_the_day()
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])

    send_day()

    (message,) = smtp_sink.messages()
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    html = body(message, "html")
    assert 'style="' in html
    assert "<link" not in html  # nothing fetched from the network by a mail client
    delivery = Delivery.objects.get(subscription=ada)
    assert message["Message-ID"] == delivery.message_id
    unsubscribe = message["List-Unsubscribe"].strip()
    assert unsubscribe.startswith("<http") and unsubscribe.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "1 " in message["Subject"] and "diffusion" in message["Subject"]


@time_machine.travel(MORNING, tick=False)
def test_running_the_same_date_twice_sends_nothing_twice(smtp_sink):
    papers_of_the_day()
    subscriber_make(email="ada@example.org", interests=["diffusion"])

    first = send_day()
    second = send_day()

    assert "sent=1" in first
    assert second == "2026-03-10: papers=0 subscribers=0 sent=0 skipped=0 failed=0"
    assert len(smtp_sink.received) == 1
    assert Delivery.objects.count() == 1


def test_a_subscriber_never_receives_the_same_paper_twice_across_days(smtp_sink):
    with time_machine.travel(MORNING, tick=False):
        papers = papers_of_the_day()
        ada = subscriber_make(email="ada@example.org", interests=["diffusion"])
        send_day()
    # A second version of the same paper is the same row (ingestion merges versions), so it is
    # re-ingested as an update and lands inside the next day's window.
    next_morning = MORNING + timedelta(days=1)
    papers["diffusion"].ingested_at = next_morning - timedelta(hours=2)
    papers["diffusion"].save()
    fresh = paper_make(
        title="Diffusion Transformers at Scale",
        abstract="Scaling diffusion transformers.",
        ingested_at=next_morning - timedelta(hours=2),
    )
    with time_machine.travel(next_morning, tick=False):
        send_day(next_morning.date())

    second = smtp_sink.received[1].message
    assert fresh.title in body(second, "plain")
    assert papers["diffusion"].title not in body(second, "plain")
    assert SentPaper.objects.filter(subscription=ada).count() == 2


@time_machine.travel(MORNING, tick=False)
def test_dry_run_counts_but_sends_and_stores_nothing(smtp_sink):
    papers_of_the_day()
    subscriber_make(email="ada@example.org", interests=["diffusion"])
    out = io.StringIO()

    call_command("send_digests", date="2026-03-10", dry_run=True, stdout=out)

    assert out.getvalue().strip() == "2026-03-10 (dry run): papers=4 subscribers=1 would_send=1 skipped=0 failed=0"
    assert smtp_sink.received == []
    assert Delivery.objects.count() == 0


@time_machine.travel(MORNING, tick=False)
def test_an_unreachable_smtp_server_fails_rows_with_the_error_and_marks_nothing_sent(settings):
    papers_of_the_day()
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])
    bo = subscriber_make(email="bo@example.org", interests=["LLM"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    summary = send_day()

    assert summary.endswith("sent=0 skipped=0 failed=2")
    for subscription in (ada, bo):
        delivery = Delivery.objects.get(subscription=subscription)
        assert delivery.state == Delivery.State.FAILED
        assert "cannot reach the SMTP server" in delivery.last_error
        assert delivery.sent_at is None
    assert not SentPaper.objects.exists()
    # A relay that is down says nothing about the addresses: nobody is suppressed.
    assert not Suppression.objects.exists()


class RefusingHandler(MemoryHandler):
    """Accepts everybody except the addresses it was told to refuse permanently."""

    def __init__(self, refuse: set[str]):
        super().__init__()
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd calls this name
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@time_machine.travel(MORNING, tick=False)
def test_one_refused_address_fails_and_is_suppressed_while_the_rest_are_sent(settings):
    papers_of_the_day()
    subscribers = [subscriber_make(email=f"reader{i}@example.org", interests=["diffusion"]) for i in range(3)]
    handler = RefusingHandler(refuse={"reader1@example.org"})
    controller = sink_start(handler=handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    try:
        summary = send_day()
    finally:
        controller.stop()

    assert summary.endswith("sent=2 skipped=0 failed=1")
    assert sorted(r.rcpt_tos[0] for r in handler.received) == ["reader0@example.org", "reader2@example.org"]
    refused = Delivery.objects.get(subscription=subscribers[1])
    assert refused.state == Delivery.State.FAILED
    assert refused.last_error.startswith("550")
    assert Suppression.objects.filter(email="reader1@example.org", active=True).exists()

    # The planner respects the suppression list the next day.
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        paper_make(title="More diffusion", abstract="diffusion again", ingested_at=MORNING + timedelta(hours=20))
        plan = deliveries_plan(slot=(MORNING + timedelta(days=1)).date())
    assert not Delivery.objects.filter(subscription=subscribers[1], slot=MORNING.date() + timedelta(days=1)).exists()
    assert plan.planned == 2


@time_machine.travel(MORNING, tick=False)
def test_hostile_titles_are_escaped_in_html_and_never_reach_a_header(smtp_sink):
    paper_make(
        title="Diffusion <script>alert('x')</script>\r\nBcc: victim@example.org",
        abstract='diffusion "><img src=x onerror=alert(1)> everywhere',
        authors=["Mallory <b>Bold</b>"],
        ingested_at=MORNING - timedelta(hours=1),
    )
    subscriber_make(email="ada@example.org", interests=["diffusion"])

    send_day()

    (received,) = smtp_sink.received
    assert received.rcpt_tos == ["ada@example.org"]
    message = received.message
    assert message["Bcc"] is None
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    html = body(message, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "<b>Bold</b>" not in html


@time_machine.travel(MORNING, tick=False)
def test_a_paper_hidden_after_planning_is_left_out_of_the_email(smtp_sink):
    papers = papers_of_the_day()
    ada = subscriber_make(email="ada@example.org", interests=["diffusion OR reasoning"])
    plan = deliveries_plan(slot=MORNING.date())
    papers["llm"].hidden = True
    papers["llm"].save()

    for chunk in plan.chunks:
        deliveries_send(delivery_ids=chunk)

    (message,) = smtp_sink.messages()
    assert papers["diffusion"].title in body(message, "plain")
    assert papers["llm"].title not in body(message, "plain")
    assert list(SentPaper.objects.filter(subscription=ada).values_list("paper_id", flat=True)) == [
        papers["diffusion"].id
    ]


@time_machine.travel(MORNING, tick=False)
def test_two_claims_of_the_same_chunk_send_each_row_once(smtp_sink):
    papers_of_the_day()
    for i in range(4):
        subscriber_make(email=f"reader{i}@example.org", interests=["diffusion"])
    plan = deliveries_plan(slot=MORNING.date())
    (chunk,) = plan.chunks

    first = deliveries_send(delivery_ids=chunk)
    second = deliveries_send(delivery_ids=chunk)

    assert (first.sent, second.claimed) == (4, 0)
    assert len(smtp_sink.received) == 4


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_sends_the_day_and_a_second_run_sends_nothing_new(
    postgres_db, smtp_sink, celery_worker_process, settings
):
    from digest.tasks.beat import digest_plan_task

    papers_of_the_day(now=datetime.now(UTC))
    for i in range(5):
        # Their send hour is now, so their slot has come whatever the time of day the test runs.
        subscriber_make(email=f"reader{i}@example.org", interests=["diffusion"], send_hour=datetime.now(UTC).hour)
    worker = celery_worker_process(env={"EMAIL_HOST": settings.EMAIL_HOST, "EMAIL_PORT": str(settings.EMAIL_PORT)})

    first = digest_plan_task.delay()
    wait_until(lambda: f"[{first.id}] succeeded" in worker.output() and len(smtp_sink.received) >= 5, worker)
    second = digest_plan_task.delay()
    wait_until(lambda: f"[{second.id}] succeeded" in worker.output(), worker)

    # The second run planned nothing (the task returns how many rows it planned) and queued no chunk.
    assert f"[{first.id}] succeeded" in worker.output()
    assert re.search(rf"\[{second.id}\] succeeded in [0-9.]+s: 0\b", worker.output())
    assert worker.output().count("Task digest.send_chunk[") == 2 * 1  # received + succeeded, one chunk
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.received) == [f"reader{i}@example.org" for i in range(5)]
    assert Delivery.objects.filter(state=Delivery.State.SENT).count() == 5


def wait_until(condition, worker, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out; worker log:\n{worker.output()[-4000:]}")


class No8BitMimeHandler(MemoryHandler):
    """A server that does not offer 8BITMIME (RFC 6152): it must only ever get 7-bit data."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # aiosmtpd calls this name
        session.host_name = hostname
        return [line for line in responses if "8BITMIME" not in line.upper()]


@time_machine.travel(MORNING, tick=False)
def test_digests_go_8bit_with_body_8bitmime_when_the_server_offers_it(smtp_sink):
    papers_of_the_day()
    subscriber_make(email="zoe@example.org", interests=["diffusion"])

    send_day()

    (received,) = smtp_sink.received
    assert "BODY=8BITMIME" in received.mail_options
    assert b"Content-Transfer-Encoding: 8bit" in received.data
    html = received.message.get_body(preferencelist=("html",)).get_content()
    assert "·" in html, "the UTF-8 separator arrives as it was written"


@time_machine.travel(MORNING, tick=False)
def test_a_server_without_8bitmime_gets_seven_bit_data_that_reads_the_same(settings, smtp_sink):
    papers_of_the_day()
    subscriber_make(email="zoe@example.org", interests=["diffusion"])
    send_day()
    (eight_bit,) = smtp_sink.received
    Delivery.objects.all().delete()
    SentPaper.objects.all().delete()
    handler = No8BitMimeHandler()
    controller = sink_start(handler=handler)
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    try:
        send_day()
    finally:
        controller.stop()

    (seven_bit,) = handler.received
    assert "BODY=8BITMIME" not in seven_bit.mail_options
    assert seven_bit.data.isascii()
    for kind in ("plain", "html"):
        ours = seven_bit.message.get_body(preferencelist=(kind,)).get_content()
        theirs = eight_bit.message.get_body(preferencelist=(kind,)).get_content()
        assert _without_tokens(ours) == _without_tokens(theirs)


def _without_tokens(text: str) -> str:
    """Links carry per-delivery signed tokens; everything else must be equal."""
    return re.sub(r"https?://\S+?(?=[\s\"<])", "URL", text.replace("\r\n", "\n"))


@time_machine.travel(MORNING, tick=False)
def test_a_non_smtp_email_backend_still_gets_every_digest(settings):
    papers_of_the_day()
    subscriber_make(email="zoe@example.org", interests=["diffusion"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail

    summary = send_day()

    assert summary.endswith("sent=1 skipped=0 failed=0")
    (message,) = mail.outbox
    assert message.to == ["zoe@example.org"]
    assert message.message().as_bytes().startswith(b"From: ")


def marked(html: str) -> list[str]:
    """The highlighted words of an email's HTML part, as a reader sees them."""
    import html as html_lib

    return [html_lib.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", html)]


@time_machine.travel(MORNING, tick=False)
def test_the_why_line_says_an_acronym_matched_as_its_long_form_in_both_parts(smtp_sink):
    paper_make(
        title="Planning Agents Built on Large Language Models",
        abstract="We let large language models plan multi-step tasks as agents.",
        ingested_at=MORNING - timedelta(hours=1),
    )
    subscriber_make(email="bo@example.org", interests=["LLM agents"])

    send_day()

    (message,) = smtp_sink.messages()
    text, html = body(message, "plain"), body(message, "html")
    assert "Matches: LLM agents (LLM, as 'large language model')" in " ".join(text.split())
    assert "Matches: LLM agents (LLM, as 'large language model')</p>" in html
    # The highlight covers the form the paper has, in the title and in the snippet.
    assert "Large Language Models" in marked(html) and "large language models" in marked(html)


@time_machine.travel(MORNING, tick=False)
def test_the_why_line_says_a_british_spelling_matched_as_the_american_one_in_both_parts(smtp_sink):
    paper_make(
        title="Faster Optimization of Sparse Networks",
        abstract="We study the optimization of sparse networks and their training behavior.",
        ingested_at=MORNING - timedelta(hours=1),
    )
    paper_make(
        title="Optimisation in the Wild",
        abstract="A British paper on optimisation.",
        ingested_at=MORNING - timedelta(hours=1),
    )
    subscriber_make(email="cy@example.org", interests=["optimisation"])

    send_day()

    (message,) = smtp_sink.messages()
    text, html = " ".join(body(message, "plain").split()), " ".join(body(message, "html").split())
    assert "Faster Optimization" in text and "Optimisation in the Wild" in text
    # Only the paper that spells it the other way says so; the other matched the word as written.
    assert text.count("Matches: optimisation (optimisation, as 'optimization')") == 1
    assert text.count("Matches: optimisation") == 2
    assert html.count("Matches: optimisation (optimisation, as 'optimization')</p>") == 1
    assert {"Optimization", "optimization", "Optimisation", "optimisation"} <= set(marked(html))
