"""Pre-inlining: premailer runs once per template skeleton and once per paper card, not per email.

Everything that varies per subscriber goes into a placeholder (a *slot*) before premailer runs; a
:class:`Prepared` template is the inlined result split at its slots, and filling it is a join. Slot values
are escaped exactly as lxml (premailer's serializer) would write them (``digest.email.escape``), so the
result is byte-identical to running premailer on the whole email -- ``digest.email.reference`` does that,
and the tests compare the two. That holds because ``digest.css`` uses context-free selectors only.

Also here: the Jinja2 environment, and the inlined-card LRU (:data:`CARDS`), filled in batches.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import jinja2
from markupsafe import Markup
from premailer import Premailer

from digest.email import wording
from digest.email.caches import registered
from digest.email.escape import lx_attr, lx_text, trusted, utf8_extra


class CardPaper(Protocol):
    """What inlining reads of a card's paper (``view.Paper`` is one): declared here, so this module
    needs nothing from the view model that builds on it."""

    @property
    def url(self) -> str: ...
    @property
    def pdf_url(self) -> str: ...
    @property
    def hf_url(self) -> str: ...
    @property
    def authors(self) -> str: ...
    @property
    def meta(self) -> str: ...
    @property
    def suggested(self) -> bool: ...


TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates" / "email"


@registered
@functools.cache
def env() -> jinja2.Environment:
    # Autoescape is on for every HTML template (and for strings); only the .txt templates (plain-text part,
    # subject) render unescaped, because they are not HTML.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    environment.globals["words"] = wording  # the labels both parts show ({{ words.ABSTRACT }})
    return environment


@registered
@functools.cache
def css() -> Markup:
    return trusted((TEMPLATE_DIR / "digest.css").read_text(encoding="utf-8"))


def premailer_inline(html: str) -> str:
    """premailer with our options: no network, media queries and :hover kept in <style>, !important kept."""
    return Premailer(
        html,
        allow_network=False,
        allow_loading_external_files=False,
        keep_style_tags=False,  # leftovers only: @media and :hover stay, the inlined rules don't repeat
        strip_important=False,  # dark-mode overrides need !important to beat inline styles
        remove_classes=False,  # media queries target the classes
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


# Placeholders: random per process so no paper text can ever collide with one.
_TOKEN = f"zq9{secrets.token_hex(6)}9qz"
_SLOT_RE = re.compile(f"{_TOKEN}([a-z_]+){_TOKEN}")


@registered
@functools.cache  # one object per name: slots are made per card and searched for in every filled one
def slot(name: str) -> Markup:
    return trusted(f"{_TOKEN}{name}{_TOKEN}")


class Pieces(list):
    """Already-escaped HTML pieces (filled cards) for a text slot; extended into the output, never re-copied."""

    __slots__ = ()


class Prepared:
    """A rendered template with placeholders, split once into static chunks; filling it is a join.

    HTML (``html=True``): a slot inside a tag is an attribute value, anywhere else it is text; each value is
    escaped for its place exactly as lxml writes it, and Markup (already escaped) goes in as it is -- in text
    slots only. Plain text (``html=False``): values go in as they are.
    """

    __slots__ = ("extra", "head", "plan")

    def __init__(self, source: str, expected: Iterable[str], *, html: bool) -> None:
        parts = _SLOT_RE.split(source)
        chunks = parts[0::2]
        names = parts[1::2]
        if sorted(names) != sorted(expected):
            raise RuntimeError(f"prepared template slots {sorted(names)} != expected {sorted(expected)}")
        self.head = chunks[0]
        self.extra = sum(map(utf8_extra, chunks))  # of the static text
        # (slot name, 0 = plain / 1 = HTML text / 2 = HTML attribute, static chunk that follows)
        plan = []
        in_tag = False  # carried over chunks without "<" or ">", e.g. between two attributes of one tag
        for name, before, after in zip(names, chunks[:-1], chunks[1:], strict=True):
            opened, closed = before.rfind("<"), before.rfind(">")
            if opened != closed:
                in_tag = opened > closed
            plan.append((name, (2 if in_tag else 1) if html else 0, after))
        self.plan = tuple(plan)

    def utf8_extra(self, values: Mapping[str, object]) -> int:
        """``utf8_extra(self.fill(values))`` without the filled text: escaping only ever swaps ASCII for
        ASCII, so it is the static text's plus each value's. Pieces values are the caller's to add."""
        extra = self.extra
        for name, _kind, _chunk in self.plan:
            value = values[name]
            if not isinstance(value, Pieces):
                extra += utf8_extra(value)  # type: ignore[arg-type]
        return extra

    def fill(self, values: Mapping[str, object]) -> str:
        out: list[str] = []
        self.fill_into(out, values)
        return "".join(out)

    def fill_into(self, out: list[str], values: Mapping[str, object]) -> None:
        """Append the pieces to ``out`` (one join at the very end keeps copying of a 25 KB email to one)."""
        out.append(self.head)
        for name, kind, chunk in self.plan:
            value = values[name]
            if kind == 1:
                if isinstance(value, Pieces):
                    out.extend(value)
                elif isinstance(value, Markup):
                    out.append(value)
                else:
                    out.append(lx_text(value))  # type: ignore[arg-type]
            elif kind == 2:
                if isinstance(value, Markup | Pieces):
                    raise TypeError(f"slot {name!r} is an attribute value: pass plain text")
                out.append(lx_attr(value))  # type: ignore[arg-type]
            else:
                out.append(value)  # type: ignore[arg-type]
            out.append(chunk)


# Between two feedback links; the same string in the template-rendered path and (inlined) in the fast one.
# The newline keeps each link on a line of its own: a row of eight signed links on one line is over
# SMTP's 998-byte limit, which would force the whole HTML part into quoted-printable (a third larger).
ACTION_SEP = '\n<span class="sep">·</span> '


def action_render(url: str, label: str) -> str:
    """One feedback link from ``_action.html`` (autoescaped; slot Markup goes in as it is)."""
    return env().get_template("_action.html").render(url=url, label=label)


@registered
@functools.cache
def atoms() -> dict[str, str]:
    """The inlined opening tags of the elements built in Python (highlight, topic), from one premailer run."""
    probe = (
        f'<html><head><style>{css()}</style></head><body><p><mark class="hl">x</mark>'
        f'<span class="topic">x</span></p><p class="actions">{action_render(slot("url"), slot("label"))}'
        f"{ACTION_SEP}</p></body></html>"
    )
    out = premailer_inline(probe)
    mark = re.search(r'<mark class="hl"[^>]*>', out)
    topic = re.search(r'<span class="topic"[^>]*>', out)
    action = re.search(r'<a class="action"[^>]*>[^<]*</a>', out)
    sep = re.search(r'\n<span class="sep"[^>]*>·</span> ', out)
    if not mark or not topic or not action or not sep:
        raise RuntimeError("premailer dropped the highlight, topic, action or separator element")
    return {"hl": mark.group(0), "topic": topic.group(0), "action": action.group(0), "sep": sep.group(0)}


@registered
@functools.cache
def section_open() -> str:
    """The inlined opening tag of a section heading ("Trending today"), placed between cards."""
    probe = (
        f"<html><head><style>{css()}</style></head><body><table><tr>"
        f'<td class="ff cards">{section_raw("x")}</td></tr></table></body></html>'
    )
    found = re.search(r'<h2 class="section-title"[^>]*>', premailer_inline(probe))
    if not found:
        raise RuntimeError("premailer dropped the section heading")
    return found.group(0)


def section_raw(title_escaped: str) -> str:
    """A section heading before inlining (``title_escaped``: escaped for the path that renders it)."""
    return f'<h2 class="section-title">{title_escaped}</h2>'


@registered
@functools.cache
def action_prepared() -> tuple[str, str, str]:
    """The inlined feedback link split around its URL (an attribute) and its label (text)."""
    parts = _SLOT_RE.split(atoms()["action"])
    if parts[1::2] != ["url", "label"] or not parts[0].endswith('href="') or not parts[2].endswith(">"):
        raise RuntimeError(f"unexpected inlined feedback link: {atoms()['action']!r}")
    return parts[0], parts[2], parts[4]


SKELETON_SLOTS = (
    "page_title",
    "preheader",
    "site_url",
    "date_text",
    "headline",
    "matched_html",
    "why_html",
    "manage_url",
    "view_url",
    "unsubscribe_url",
    "postal",
    "more_text",
)


@registered
@functools.cache
def skeleton(for_browser: bool, has_more: bool, has_cards: bool = True) -> Prepared:
    """The page around the cards, inlined once per process (per variant; no cards: the loop's lines go too)."""
    values: dict[str, object] = {name: slot(name) for name in SKELETON_SLOTS}
    html = (
        env()
        .get_template("digest.html")
        .render(
            css=css(),
            for_browser=for_browser,
            has_more=has_more,
            cards=[slot("cards")] if has_cards else [],
            **values,
        )
    )
    expected = [n for n in (*SKELETON_SLOTS, "cards") for _ in range(html.count(slot(n)))]
    return Prepared(premailer_inline(html), expected, html=True)


def paper_values(paper: CardPaper, slots: tuple[str, ...]) -> dict[str, object]:
    """``_card.html``'s per-paper values (both paths: the inlined cards and the reference renderer)."""
    return {
        "url": paper.url,
        "pdf_url": paper.pdf_url,
        "hf_url": paper.hf_url,
        "authors": paper.authors,
        "meta": paper.meta,
        "suggested": paper.suggested,
        "has_snippet": "snippet" in slots,
        "has_why": "why" in slots,
        "has_near_miss": "near_miss" in slots,
        "has_actions": "actions" in slots,
    }


# (paper, the optional per-subscriber slots it has -- see Card.slots): one inlined card each
InlineKey = tuple[CardPaper, tuple[str, ...]]
CARD_BATCH = 50  # cards inlined per premailer run (one run over many cards is far cheaper than many runs)
CARDS_CACHED = 8192


def _card_marker(n: int, closing: bool = False) -> str:
    return f"<!--{'/' if closing else ''}pbcard{n}-->"


def cards_inline(keys: list[InlineKey]) -> list[Prepared]:
    """Inline several papers' cards with one premailer run and split them apart again."""
    template = env().get_template("_card.html")
    cards = []
    for n, (paper, slots) in enumerate(keys):
        card = template.render(
            title_html=slot("title"),
            snippet_html=slot("snippet") if "snippet" in slots else "",
            why=slot("why") if "why" in slots else "",
            near_miss=slot("near_miss") if "near_miss" in slots else "",
            actions_html=slot("actions") if "actions" in slots else "",
            **paper_values(paper, slots),
        )
        cards.append(f"{_card_marker(n)}{card}{_card_marker(n, closing=True)}")
    # Same surroundings as in the email, so the parser sees each card exactly as it does there.
    probe = (
        f"<html><head><style>{css()}</style></head><body><table><tr>"
        f'<td class="ff cards">{chr(10).join(cards)}</td></tr></table></body></html>'
    )
    out = premailer_inline(probe)
    prepared = []
    for n, (_paper, slots) in enumerate(keys):
        start = out.index(_card_marker(n)) + len(_card_marker(n))
        inner = out[start : out.index(_card_marker(n, closing=True), start)]
        prepared.append(Prepared(inner, ["title", *slots], html=True))
    return prepared


class CardCache:
    """LRU of inlined cards. Filled in batches, which functools.lru_cache can't do."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[InlineKey, Prepared] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = self.premailer_runs = 0

    def get_many(self, keys: list[InlineKey]) -> list[Prepared]:
        with self.lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self.data]
        for start in range(0, len(missing), CARD_BATCH):
            batch = missing[start : start + CARD_BATCH]
            inlined = cards_inline(batch)  # outside the lock: premailer is slow
            with self.lock:
                self.premailer_runs += 1
                self.data.update(zip(batch, inlined, strict=True))
                while len(self.data) > self.maxsize:
                    self.data.popitem(last=False)
        with self.lock:
            self.misses += len(missing)
            self.hits += len(keys) - len(missing)
            out = []
            for key in keys:
                found = self.data.get(key)
                if found is None:  # evicted by a concurrent batch: make it again, alone
                    found = cards_inline([key])[0]
                    self.data[key] = found
                self.data.move_to_end(key)
                out.append(found)
            return out

    def cache_clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.hits = self.misses = self.premailer_runs = 0


CARDS = registered(CardCache(CARDS_CACHED))
