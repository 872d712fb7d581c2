"""A real HTTP server on loopback serving recorded responses, and builders for the source formats.

The fixtures under ``fixtures/`` follow the real formats (see ``../shared/formats/``); entries are
filled at test time with titles and abstracts from the shared corpus, never copied into the repo.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Reply:
    """One recorded response. ``stall`` seconds of silence before anything is sent."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/xml; charset=utf-8"
    stall: float = 0.0
    # Stream this many bytes (of filler) without holding them in memory; no Content-Length when chunked.
    stream_bytes: int = 0
    announce_length: bool = True


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class FeedServer:
    """Threaded ``http.server`` on 127.0.0.1:<ephemeral>; routes map a path to a queue of replies."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[SeenRequest] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                return

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.requests.append(SeenRequest(path=self.path, headers=dict(self.headers.items())))
                queue = server.routes.get(path)
                if not queue:
                    reply = Reply(status=404, body=b"not found", content_type="text/plain")
                else:
                    reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.stall and server.stop.wait(reply.stall):
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.stream_bytes:
                    if reply.announce_length:
                        self.send_header("Content-Length", str(reply.stream_bytes))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b"<!-- filler -->" * 4096
                    sent = 0
                    while sent < reply.stream_bytes and not server.stop.is_set():
                        self.wfile.write(chunk)
                        sent += len(chunk)
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def hits(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def fast_http(settings):
    """Tiny timeouts, backoff and politeness delays so the bad-input tests run in milliseconds."""
    settings.PAPERBOY_HTTP_TIMEOUT = 0.5
    settings.PAPERBOY_HTTP_RETRIES = 2
    settings.PAPERBOY_HTTP_BACKOFF_SECONDS = 0.01
    settings.PAPERBOY_HTTP_MAX_RETRY_AFTER = 1.0
    settings.PAPERBOY_HTTP_MAX_BYTES = 512 * 1024
    settings.PAPERBOY_ARXIV_DELAY_SECONDS = 0.0
    settings.PAPERBOY_FEED_FLAG_AFTER_FAILURES = 3
    settings.PAPERBOY_HTTP_USER_AGENT = "Paperboy/test (+http://paperboy.test; mailto:ops@paperboy.test)"
    # The recorded-response servers listen on loopback, which the fetcher refuses unless allowed.
    settings.PAPERBOY_FETCH_ALLOW = ["127.0.0.1"]
    return settings


# --- The corpus -----------------------------------------------------------------------------------


@dataclass
class CorpusPaper:
    title: str
    abstract: str


@pytest.fixture
def corpus(corpus_path) -> list[CorpusPaper]:
    papers = []
    with corpus_path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                data = json.loads(line)
                papers.append(CorpusPaper(title=data["title"], abstract=data["abstract"]))
    return papers


def hard_wrap(text: str, width: int = 70) -> str:
    """Break text with hard newlines and indentation, as arXiv and Hugging Face send it."""
    words, lines, current = text.split(), [], ""
    for word in words:
        if len(current) + len(word) + 1 > width and current:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "\n  ".join(lines)


# --- Format builders -----------------------------------------------------------------------------


def _template(name: str) -> Template:
    return Template((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class ArxivEntry:
    arxiv_id: str
    title: str
    abstract: str
    version: int = 1
    authors: list[str] = field(default_factory=lambda: ["Ada Lovelace", "Charles Babbage"])
    categories: list[str] = field(default_factory=lambda: ["cs.LG", "cs.AI"])
    published: str = "2026-11-24T18:59:59Z"
    updated: str = "2026-11-24T18:59:59Z"
    comment: str = "12 pages, 4 figures"
    doi: str = ""
    announce_type: str = "new"
    # Overrides the <id> element (e.g. "" for an entry without an id).
    raw_id: str | None = None


def arxiv_api_feed(entries: list[ArxivEntry], *, total: int | None = None, start: int = 0) -> bytes:
    entry_t = _template("arxiv_api_entry.xml")
    rendered = []
    for e in entries:
        rendered.append(
            entry_t.substitute(
                id=escape(f"http://arxiv.org/abs/{e.arxiv_id}v{e.version}" if e.raw_id is None else e.raw_id),
                abs_url=escape(f"http://arxiv.org/abs/{e.arxiv_id}v{e.version}"),
                pdf_url=escape(f"http://arxiv.org/pdf/{e.arxiv_id}v{e.version}"),
                published=e.published,
                updated=e.updated,
                title=escape(hard_wrap(e.title)),
                summary=escape(hard_wrap(e.abstract)),
                authors="\n    ".join(f"<author><name>{escape(a)}</name></author>" for a in e.authors),
                comment=escape(e.comment),
                doi=f"<arxiv:doi>{escape(e.doi)}</arxiv:doi>" if e.doi else "",
                primary=escape(e.categories[0]),
                categories="\n    ".join(
                    f'<category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in e.categories
                ),
            )
        )
    return (
        _template("arxiv_api_feed.xml")
        .substitute(
            total=len(entries) if total is None else total,
            start=start,
            per_page=len(entries),
            entries="\n".join(rendered),
        )
        .encode("utf-8")
    )


def arxiv_rss_feed(entries: list[ArxivEntry], *, category: str = "cs.LG") -> bytes:
    entry_t = _template("arxiv_rss_entry.xml")
    rendered = [
        entry_t.substitute(
            arxiv_id=e.arxiv_id,
            version=e.version,
            title=escape(e.title),
            abstract=escape(e.abstract),
            announce_type=e.announce_type,
            categories="\n    ".join(f'<category term="{escape(c)}"/>' for c in e.categories),
            creators=escape(", ".join(e.authors)),
        )
        for e in entries
    ]
    return _template("arxiv_rss_feed.xml").substitute(category=category, entries="\n".join(rendered)).encode("utf-8")


def hf_daily_items(papers: list[dict]) -> bytes:
    """``papers``: dicts with arxiv_id, title, abstract, upvotes, (optional) authors, comments, extras."""
    template = json.loads((FIXTURES / "hf_daily_item.json").read_text(encoding="utf-8"))
    items = []
    for p in papers:
        item = json.loads(json.dumps(template))
        item["paper"]["id"] = p["arxiv_id"]
        item["paper"]["title"] = hard_wrap(p["title"], 60)
        item["paper"]["summary"] = hard_wrap(p["abstract"], 60)
        item["paper"]["upvotes"] = p.get("upvotes", 0)
        item["paper"]["authors"] = [
            {"_id": f"a{n}", "name": name, "hidden": False}
            for n, name in enumerate(p.get("authors", ["Ada Lovelace", "Grace Hopper"]))
        ]
        item["title"] = p["title"]
        item["numComments"] = p.get("comments", 0)
        for key, value in p.get("item_extra", {}).items():
            item[key] = value
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def feed_make(*, kind: str, url: str = "", categories: str = "", name: str | None = None, **fields):
    from digest.models import Feed

    return Feed.objects.create(
        name=name or f"{kind} feed {Feed.objects.count() + 1}",
        kind=kind,
        url=url,
        categories=categories,
        **fields,
    )
