"""A planning process's paper windows: the papers of (start, end] and their index, built once per
process per window and shared by every shard that plans it (``digest.delivery.plan``)."""

from __future__ import annotations

import gc
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from digest.content import ContentJson, ContentMemo, ContentShared
from digest.matching import PaperDoc, PaperIndex
from digest.selectors.papers import paper_docs_ingested_between, paper_window_fingerprint


@dataclass
class PlanWindow:
    """One paper window (start, end) and what every shard planning it shares within a process: the
    papers, their index (with the engine's per-term caches), and the stored entries already made.

    Built once per process per window by ``plan_window`` and kept for the next shards: the beat's
    shards of one slot share one window end, and subscribers whose last digest went out in the same
    run share its start. Anything else a window's subscribers share (a per-window list) belongs here.
    """

    start: datetime
    end: datetime
    fingerprint: tuple[int, int, int]
    docs: list[PaperDoc]
    index: PaperIndex | None
    memo: ContentMemo = field(default_factory=dict)  # subscribers with the same interests share entries
    encoder: ContentJson = field(default_factory=ContentJson)  # and the entries' JSON text
    shared: ContentShared = field(default_factory=ContentShared)  # the fast path to both (plain matches)

    def memo_bounded(self) -> ContentMemo:
        # Shared entries bound the work, not the memory: past MEMO_MAX the memo starts again.
        if len(self.memo) > MEMO_MAX or len(self.encoder) > MEMO_MAX:
            self.memo, self.encoder = {}, ContentJson()
        self.shared.bound()
        return self.memo


WINDOWS_KEPT = 4  # windows a planning process keeps (a slot has one or two; a few slots overlap)
MEMO_MAX = 200_000  # stored entries a window keeps for sharing (~1 KB each)
_WINDOWS: OrderedDict[tuple[datetime, datetime], PlanWindow] = OrderedDict()


def plan_window(*, start: datetime, end: datetime) -> PlanWindow:
    """The papers ingested in (start, end] and their index, built on first use in this process and
    reused while the window still holds the same papers (one aggregate query checks: a paper hidden
    or committed late since the window was built makes a new one)."""
    key = (start, end)
    fingerprint = paper_window_fingerprint(start=start, end=end)
    window = _WINDOWS.get(key)
    if window is None or window.fingerprint != fingerprint:
        docs = paper_docs_ingested_between(start=start, end=end)
        index = PaperIndex.build(docs) if docs else None
        window = PlanWindow(start=start, end=end, fingerprint=fingerprint, docs=docs, index=index)
        dropped = _WINDOWS.pop(key, None) is not None  # its papers changed
        _WINDOWS[key] = window
        while len(_WINDOWS) > WINDOWS_KEPT:
            _WINDOWS.popitem(last=False)
            dropped = True
        if dropped:
            _windows_let_go()
    _WINDOWS.move_to_end(key)
    return window


def _windows_let_go() -> None:
    """A planner freezes what its shards leave alive -- the windows' objects -- out of the garbage
    collector's sight (``digest.delivery.plan.memory``); a window let go must be collected all the same
    (its index and highlighter refer to each other): everything is unfrozen and collected once, and the
    next shard freezes what is still alive."""
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
