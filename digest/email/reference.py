"""The uncached reference renderer: the whole email through Jinja2, then premailer on all of it.

Only the tests (and the render benchmark, as its baseline) use it: it is the oracle the fast path in
``digest.email.html`` must equal byte for byte, and ~100x slower. A change to the fast path is checked
against this; a change to the templates needs nothing here.
"""

from __future__ import annotations

from markupsafe import Markup

from digest.email.contract import DigestEmail
from digest.email.escape import highlight, md_text, trusted
from digest.email.html import html_budgeted, skeleton_values
from digest.email.inline import ACTION_SEP, action_render, css, env, paper_values, premailer_inline, section_raw
from digest.email.view import View


def _actions_html_raw(actions: tuple[tuple[str, str], ...]) -> Markup:
    """The row of feedback links: Jinja2-escaped, premailer inlines it later."""
    return trusted(ACTION_SEP.join([action_render(url, label) for label, url in actions]))


def html_raw(view: View) -> str:
    """The whole email rendered by Jinja2 alone, not yet inlined."""
    environment = env()
    card_template = environment.get_template("_card.html")
    mark_open = '<mark class="hl">'
    cards = [
        trusted(
            card_template.render(
                title_html=highlight(c.title, c.title_spans, md_text, mark_open),
                snippet_html=highlight(c.snippet, c.snippet_spans, md_text, mark_open),
                why=c.why,
                near_miss=c.near_miss,
                actions_html=_actions_html_raw(actions.pairs),
                **paper_values(c.paper, c.inline_key(bool(actions.pairs))[1]),
            )
        )
        for c, actions in zip(view.cards, view.actions, strict=True)
    ]
    if view.section_at >= 0:
        cards.insert(view.section_at, trusted(section_raw(md_text(view.section_title))))
    values = skeleton_values(view, md_text, '<span class="topic">')
    return environment.get_template("digest.html").render(
        css=css(), for_browser=view.for_browser, has_more=view.more > 0, cards=cards, **values
    )


def _inlined_with_size(view: View) -> tuple[str, int]:
    html = premailer_inline(html_raw(view))
    return html, len(html.encode())


def digest_html_render_uncached(email: DigestEmail, *, for_browser: bool = False) -> str:
    """The same HTML as ``digest_html_render`` by running premailer on the whole email."""
    return html_budgeted(email, for_browser=for_browser, render=_inlined_with_size)
