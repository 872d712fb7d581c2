"""Every word the email shows that is not the paper's: one place for a copy edit.

The HTML part and the plain-text part both take their sentences from here; the templates read the labels as
``words.NAME`` (a Jinja2 global). Sentences that embed values take them already escaped for the part they
go into (``recipient``, ``interests``), so the same function serves the HTML (escaped, topics in spans) and
the text part (as they are). The subject lines live in ``templates/email/*_subject.txt``.
"""

from __future__ import annotations

import functools
from datetime import date

from digest.email.caches import registered

# Labels: in the templates (``{{ words.ABSTRACT }}``) and in the plain-text part.
SUGGESTED = "You might also like"
ABSTRACT = "Abstract"
PDF = "PDF"
HUGGING_FACE = "Hugging Face"
MANAGE = "Manage preferences"
VIEW_IN_BROWSER = "View in browser"
UNSUBSCRIBE = "Unsubscribe"
UNTITLED = "(untitled)"
ET_AL = " et al."
SEP = " · "

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@registered
@functools.lru_cache(maxsize=64)
def date_text(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def page_title(date_text: str) -> str:
    return f"Paperboy · {date_text}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def upvotes(n: int) -> str:
    return f"▲ {plural(n, 'upvote')}"


def _period(weekly: bool) -> str:
    return "this week" if weekly else "today"


def headline(*, count: int, weekly: bool, quiet: bool, trending: bool = False) -> str:
    if trending:
        most = "most upvoted paper" if count == 1 else f"{count} most upvoted papers"
        return f"The {most} {_period(weekly)}"
    if quiet:
        return f"Nothing new matched your interests {'this week' if weekly else 'today'}"
    if count == 0:
        return "No new papers matched your interests"
    if weekly:
        return f"{plural(count, 'paper')} from this week"
    return f"{plural(count, 'new paper')} for you"


def preheader(titles: str, *, quiet: bool) -> str:
    """The inbox preview line: the first titles (``titles``, already joined); a quiet note says so first."""
    if not quiet:
        return titles
    return f"Nothing matched. Nearest: {titles}" if titles else "Nothing matched your interests."


def why(interests: tuple[str, ...], terms: tuple[str, ...], matched_as: tuple[str, ...] = ()) -> str:
    """A card's "why" line: the interests it matched, else the words; and how a word the paper has only
    in another form was found (``matched_as``: "LLM, as 'large language model'")."""
    how = f" ({'; '.join(matched_as)})" if matched_as else ""
    if interests:
        return "Matches: " + ", ".join(interests) + how
    return "Matched words: " + ", ".join(terms) + how if terms else ""


def matched(topics: str) -> str:
    """Under the headline: today's matched interests (``topics``: joined, escaped for the part)."""
    return f"Matched your interests: {topics}"


def quiet_intro(count: int) -> str:
    """Under a quiet note's headline, by the number of near misses."""
    if not count:
        return "Nothing came close either."
    if count == 1:
        return "The nearest miss: a paper that almost matched, and what it was missing."
    return f"The {count} nearest misses: papers that almost matched, and what each was missing."


def _quiet_days(frequency: str) -> str:
    return "weeks" if frequency == "weekly" else "days"


def footer(*, quiet: bool, recipient: str, frequency: str, interests: str, trending: bool = False) -> str:
    """Why this email came: ``recipient`` and ``interests`` (joined) already escaped for the part.

    A trending digest's ``interests`` are its arXiv categories (empty: all of them)."""
    if trending:
        where = f" in {interests}" if interests else ""
        return (
            f"You get this {frequency} trending digest at {recipient} because you chose trending papers{where} "
            f"on Paperboy. Follow your own interests instead under {MANAGE}."
        )
    if quiet:
        return (
            f"You get this note at {recipient} on {_quiet_days(frequency)} when nothing matches {interests}, "
            f"because you asked for quiet-day notes. Turn them off under {MANAGE}."
        )
    return f"You get this {frequency} digest at {recipient} because you follow {interests} on Paperboy."


def more(count: int, *, quiet: bool) -> str:
    """The link under the cards when papers were left out to stay under Gmail's size limit (HTML only: the
    plain-text part has no size budget, so it always lists every paper)."""
    if quiet:
        return f"…and {count} more near {'miss' if count == 1 else 'misses'}: open the note in your browser"
    return f"…and {plural(count, 'more paper')}: open the full digest in your browser"


def topics_more(shown: str, hidden: int) -> str:
    """The subject's topic list when some are left out to fit."""
    return f"{shown} +{hidden} more"


# --- Trending papers (issue 19) ----------------------------------------------------------------------


def trending_section(*, weekly: bool) -> str:
    """The heading of the trending papers after a keyword digest's own matches."""
    return f"Trending {_period(weekly)}"


def trending_why(*, upvotes: int | None, rank: int, weekly: bool) -> str:
    """A trending card's reason: "▲ 128 upvotes · #2 on Hugging Face today"."""
    place = f"#{rank} on {HUGGING_FACE} {_period(weekly)}"
    return f"{upvotes_text(upvotes)}{SEP}{place}" if upvotes else place


def upvotes_text(n: int | None) -> str:
    return upvotes(int(n)) if n else ""


def trending_intro(categories: str) -> str:
    """Under a trending digest's headline (``categories``: joined, escaped for the part; may be empty)."""
    where = f", in {categories}" if categories else ""
    return f"Ranked by the upvotes of the {HUGGING_FACE} Daily Papers community{where}."
