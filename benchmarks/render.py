"""How many digest emails one core renders per second.

    python -m benchmarks.render [--subscribers 2000] [--papers 10] [--pool 60] [--seconds 3]

A day's pool of papers (the shared corpus when it is there, else invented text), subscribers with one to
three interests each, and a ``--papers``-paper digest per subscriber with snippets and highlights for their
interests and four feedback links per paper (More/Less like this, Mute, Follow; ~150-character signed URLs,
different for every subscriber) -- all built before the clock starts (matching and signing are not rendering).

Measured, single-threaded:
  * first touch: inlining the template skeleton and every card of the day once (premailer);
  * builder: ``digest_message_build`` (subject + text + HTML + the EmailMultiAlternatives object);
  * Jinja2 alone: the raw templates with no inlining (a reference point for this machine's speed);
  * premailer each: the same email with premailer run on the whole HTML every time (the naive way);
  * worker path: what a delivery worker does per email, from a Delivery row's stored JSON content:
    ``digest_email_build`` (items, every feedback link signed) with ``digest_links_make``, then
    ``digest_message_build``, then the MIME bytes -- each step's cumulative rate on its own line.

The last line is ``RESULT emails_per_s=<float> premailer_each_per_s=<float>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from datetime import date
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "papers.jsonl"
TOPICS = {
    "language models": ("language model", "LLM"),
    "reasoning": ("reasoning",),
    "diffusion": ("diffusion",),
    "video": ("video",),
    "robotics": ("robot",),
    "benchmarks": ("benchmark",),
    "agents": ("agent",),
    "reinforcement learning": ("reinforcement learning", "RL"),
    "vision": ("vision", "image"),
    "graphs": ("graph",),
    "retrieval": ("retrieval",),
    "efficiency": ("efficient", "compression"),
}
FILLER = (
    "We study how models trained on large data behave when the data changes, and propose a simple method "
    "with strong results on several benchmarks for reasoning, retrieval, video and image tasks."
)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperboy.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _papers(pool: int) -> list[dict]:
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8") as fh:
            papers = [json.loads(line) for line in fh if line.strip()]
    else:  # CI without ../shared: invented papers of realistic length
        papers = [{"title": f"Paper {n}: a study of models", "abstract": FILLER * 4} for n in range(pool)]
    return papers[:pool]


def _spans(text: str, terms: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    found = [(m.start(), m.end()) for t in terms for m in re.finditer(rf"\b{re.escape(t)}s?\b", text, re.IGNORECASE)]
    return tuple(sorted(found))


def _actions(rng: random.Random, sub: int, key: int, term: str, author: str) -> tuple[tuple[str, str], ...]:
    """Four feedback links with URLs as long as real signed ones (unique per subscriber and paper)."""

    def url(action: str) -> str:
        return (
            f"https://paperboy.example/f/eyJzIjo{sub:06d}LCJwIjo{key:05d}{action}:1tXyZa:{rng.getrandbits(320):080x}/"
        )

    return (
        ("More like this", url("more")),
        ("Less like this", url("less")),
        (f'Mute "{term}"', url("mute")),
        (f"Follow {author}", url("follow")),
    )


def emails_make(*, subscribers: int, papers: int, pool: int, seed: int = 7) -> list:
    from digest.email import DigestEmail, DigestItem, DigestLinks

    rng = random.Random(seed)
    day = date(2026, 11, 27)
    corpus = _papers(pool)
    names = ("Ada Lovelace", "Grace Hopper", "Katherine Johnson", "Alan Turing", "Edsger Dijkstra", "Émile Borel")
    out = []
    for sub in range(subscribers):
        interests = tuple(rng.sample(sorted(TOPICS), rng.randint(1, 3)))
        terms = tuple(t for i in interests for t in TOPICS[i])
        items = []
        for key in rng.sample(range(len(corpus)), min(papers, len(corpus))):
            paper = corpus[key]
            abstract = paper["abstract"]
            hits = _spans(abstract, terms)
            start = max(0, hits[0][0] - 80) if hits else 0
            snippet = abstract[start : start + 360]
            items.append(
                DigestItem(
                    paper_key=key,
                    title=paper["title"],
                    url=f"https://arxiv.org/abs/2611.{key:05d}",
                    pdf_url=f"https://arxiv.org/pdf/2611.{key:05d}",
                    hf_url=f"https://huggingface.co/papers/2611.{key:05d}" if key % 3 else "",
                    authors=names[: 1 + key % len(names)],
                    categories=("cs.LG", "cs.CL", "cs.CV")[: 1 + key % 3],
                    popularity=key * 3 if key % 2 else None,
                    snippet=snippet,
                    title_spans=_spans(paper["title"], terms),
                    snippet_spans=_spans(snippet, terms),
                    matched_terms=terms,
                    interests=tuple(i for i in interests if _spans(paper["title"] + abstract, TOPICS[i]))
                    or interests[:1],
                    actions=_actions(rng, sub, key, terms[0], names[0]),
                )
            )
        token = f"eyJzIjo{sub:06d}fQ:1tXyZa:{rng.getrandbits(64):016x}"
        out.append(
            DigestEmail(
                recipient=f"reader{sub}@example.org",
                digest_date=day,
                items=tuple(items),
                interests=interests,
                links=DigestLinks(
                    unsubscribe_url=f"https://paperboy.example/u/{token}/",
                    manage_url="https://paperboy.example/preferences/",
                    view_url=f"https://paperboy.example/d/{token}/",
                ),
                message_id=f"<digest.2026-11-27.{sub}@paperboy.example>",
            )
        )
    return out


def deliveries_make(mails: list) -> tuple[list, dict, dict]:
    """The same digests as a worker sees them: unsaved Delivery rows whose ``content`` is the stored JSON
    (parsed fresh per row, as from the database), the day's Paper rows, and each subscription's interests."""
    from digest.models import Delivery, Paper

    corpus = _papers(max(i.paper_key for m in mails for i in m.items) + 1)
    papers: dict[int, Paper] = {}
    deliveries = []
    interests = {}
    for sub, mail in enumerate(mails):
        content = []
        for item in mail.items:
            paper_id = item.paper_key + 1
            text = corpus[item.paper_key]["title"] + " " + corpus[item.paper_key]["abstract"]
            papers.setdefault(
                paper_id,
                Paper(
                    id=paper_id,
                    title=item.title,
                    url=item.url,
                    pdf_url=item.pdf_url,
                    hf_url=item.hf_url,
                    authors=list(item.authors),
                    categories=list(item.categories),
                    popularity=item.popularity,
                ),
            )
            reasons = [
                {"interest": i, "terms": [t for t in TOPICS[i] if _spans(text, (t,))] or list(TOPICS[i])}
                for i in item.interests
            ]
            content.append(
                {
                    "paper": paper_id,
                    "score": 1.0,
                    "reasons": reasons,
                    "title_spans": [list(s) for s in item.title_spans],
                    "snippet": item.snippet,
                    "snippet_spans": [list(s) for s in item.snippet_spans],
                    "suggested": False,
                }
            )
        deliveries.append(
            Delivery(
                id=100_000 + sub,
                subscription_id=sub + 1,
                slot=mail.digest_date,
                to_email=mail.recipient,
                message_id=mail.message_id,
                content=json.loads(json.dumps(content)),
            )
        )
        interests[sub + 1] = mail.interests
    return deliveries, papers, interests


def _rate(fn, emails: list, seconds: float, between_passes=None) -> tuple[float, int]:
    """Emails per second of this process's CPU time, best pass of those run in ``seconds``.

    CPU time and the best pass (as timeit does) keep other work on a shared machine out of the number;
    one process is one core.
    """
    done = 0
    spent = 0.0
    best = 0.0
    while spent < seconds or not best:
        if between_passes:
            between_passes()
        start = time.process_time()
        for email in emails:
            fn(email)
        elapsed = max(time.process_time() - start, 1e-9)
        spent += elapsed
        done += len(emails)
        best = max(best, len(emails) / elapsed)
    return best, done


def caches_clear_per_subscriber() -> None:
    """Forget what depends on the readers (a new day for the subscribers, same papers).

    The shared cards go too: which (paper, snippet, highlights, interests) combinations exist depends on
    who reads, so a benchmark pass must build them again, once per combination, as a real day does. The
    per-paper caches, the inlined cards and the templates stay, as they do in a worker from day to day.
    """
    from digest.email import actions, html, view, wrap

    for cached in (view.card_make, html._highlight_fast, view.topics_rank, wrap.wrap, actions._action_label):
        cached.cache_clear()


def _worker_path(mails: list, *, seconds: float, mime_emails: int) -> None:
    """What a worker does per row: stored content -> DigestEmail -> message object -> MIME bytes."""
    from digest.content import digest_email_build
    from digest.email import digest_message_build
    from digest.links import digest_links_make

    deliveries, papers, interests = deliveries_make(mails)

    def content_to_email(delivery):
        return digest_email_build(
            delivery=delivery,
            papers=papers,
            interests=interests[delivery.subscription_id],
            links=digest_links_make(subscription_id=delivery.subscription_id, delivery_id=delivery.id),
            frequency="daily",
        )

    def content_to_message(delivery):
        return digest_message_build(content_to_email(delivery))

    def content_to_bytes(delivery) -> None:
        # What the worker writes to the SMTP connection (digest/email/mime.py, CRLF line endings).
        content_to_message(delivery).mime_bytes(allow_8bit=True)

    steps = (
        ("content → DigestEmail (items, signed links)", content_to_email, deliveries),
        ("content → DigestEmail → message object", content_to_message, deliveries),
        ("content → DigestEmail → MIME bytes", content_to_bytes, deliveries[: max(1, mime_emails)]),
    )
    for label, step, rows in steps:
        rate, n = _rate(step, rows, seconds, caches_clear_per_subscriber)
        print(f"worker path ({label}): {rate:,.0f} emails/s, {1000 / rate:.3f} ms/email ({n} emails)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--papers", type=int, default=10, help="papers per digest")
    parser.add_argument("--pool", type=int, default=60, help="papers in the day's pool")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--premailer-emails", type=int, default=20, help="emails for the premailer-each run")
    parser.add_argument("--mime-emails", type=int, default=500, help="emails for the worker path's MIME bytes run")
    args = parser.parse_args(argv)

    _setup_django()
    import digest.email as digest_emails
    from digest.email import inline, reference, text, view

    mails = emails_make(subscribers=args.subscribers, papers=args.papers, pool=args.pool)
    digest_emails.email_caches_clear()

    start = time.process_time()
    digest_emails.digest_html_render(mails[0])
    skeleton = time.process_time() - start
    start = time.process_time()
    cards = digest_emails.email_cards_warm(mails)
    warm = time.process_time() - start
    print(
        f"first touch: skeleton inlined in {skeleton:.2f} s; the day's other {cards} cards in {warm:.2f} s "
        f"({inline.CARDS.premailer_runs} premailer runs, batches of {inline.CARD_BATCH})"
    )

    def render_only(mail) -> None:
        digest_emails.digest_subject_render(mail)
        digest_emails.digest_text_render(mail)
        digest_emails.digest_html_render(mail)

    # Every subscriber's email is rendered once a day: forget per-subscriber work between passes so each
    # pass is a fresh day for the subscribers, with the day's cards already inlined (the first pass did it).
    fresh = caches_clear_per_subscriber
    build_rate, n = _rate(digest_emails.digest_message_build, mails, args.seconds, fresh)
    print(f"builder (subject+text+HTML+message object), cached inlining: {build_rate:,.0f} emails/s ({n} emails)")
    render_rate, n = _rate(render_only, mails, args.seconds, fresh)
    print(f"render only (three public render functions), cached inlining: {render_rate:,.0f} emails/s ({n} emails)")

    def jinja_only(mail) -> None:  # the whole email through Jinja2 with no CSS inlining at all
        shown = view.view_make(mail)
        reference.html_raw(shown)
        text.text_fast(shown)

    jinja_rate, n = _rate(jinja_only, mails, args.seconds, fresh)
    print(f"Jinja2 alone, no inlining (reference point): {jinja_rate:,.0f} emails/s ({n} emails)")

    def premailer_each(mail) -> None:
        digest_emails.digest_subject_render(mail)
        digest_emails.digest_text_render(mail)
        reference.digest_html_render_uncached(mail)

    sample = mails[: max(1, args.premailer_emails)]
    premailer_rate, n = _rate(premailer_each, sample, min(args.seconds, 2.0))
    print(f"premailer on every whole email: {premailer_rate:,.1f} emails/s ({n} emails)")

    _worker_path(mails, seconds=args.seconds, mime_emails=args.mime_emails)
    size = sum(len(digest_emails.digest_html_render(m).encode()) for m in sample) / len(sample)
    print(
        f"speed-up {build_rate / premailer_rate:,.0f}x; mean HTML size {size / 1024:.1f} KiB for {args.papers} papers"
    )
    print(f"load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"RESULT emails_per_s={build_rate:.1f} premailer_each_per_s={premailer_rate:.1f}")


if __name__ == "__main__":
    main()
