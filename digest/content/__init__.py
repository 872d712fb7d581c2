"""``Delivery.content``: its one schema, its one writer and its one reader.

Matching produces :class:`digest.matching.Match` objects; a Delivery stores them as plain JSON
(``content``, a list of :class:`ContentEntry`) so the archive shows a digest exactly as it was
emailed; rendering turns that JSON plus the papers into a :class:`digest.email.DigestEmail`.

The parts: ``entries`` (the schema; every entry made and read there), ``json_text`` (the planner's
writer of a row's JSON text, fast path beside its reference) and ``email`` (a stored digest as its
email).
"""

from digest.content.email import (
    digest_email_build,
    digest_email_from_delivery,
    digest_item_from_entry,
    digest_items_build,
    hf_page_url,
)
from digest.content.entries import (
    PRUNED_KEYS,
    ContentEntry,
    ContentMemo,
    ContentReason,
    Spans,
    content_email_kind,
    content_from_matches,
    content_is_quiet_note,
    content_is_trending,
    content_near_miss_entry,
    content_paper_ids,
    content_paper_replace,
    content_pruned,
    content_split_trending,
    content_trending_entry,
    entry_matched_as,
    entry_terms,
    library_interests,
    near_miss_text,
    reason_entry,
)
from digest.content.json_text import ALONE_KEPT, TOGETHER_KEPT, ContentEntriesJson, ContentJson, ContentShared

__all__ = [
    "ALONE_KEPT",
    "PRUNED_KEYS",
    "TOGETHER_KEPT",
    "ContentEntriesJson",
    "ContentEntry",
    "ContentJson",
    "ContentMemo",
    "ContentReason",
    "ContentShared",
    "Spans",
    "content_email_kind",
    "content_from_matches",
    "content_is_quiet_note",
    "content_is_trending",
    "content_near_miss_entry",
    "content_paper_ids",
    "content_paper_replace",
    "content_pruned",
    "content_split_trending",
    "content_trending_entry",
    "digest_email_build",
    "digest_email_from_delivery",
    "digest_item_from_entry",
    "digest_items_build",
    "entry_matched_as",
    "entry_terms",
    "hf_page_url",
    "library_interests",
    "near_miss_text",
    "reason_entry",
]
