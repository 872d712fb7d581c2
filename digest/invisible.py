"""Characters no text from outside may carry: bidi overrides and isolates (they reorder what a reader
sees, so ``\u202egpj.exe`` reads "exe.jpg"), zero-width marks, the BOM and non-characters.

One list for every path: ingest drops them from titles, abstracts and names (``digest/ingest/text.py``),
so web pages never get them, and the email builder drops them again from anything else it renders
(security review L7).
"""

from __future__ import annotations

import re

INVISIBLE = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufffe\uffff"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")


def invisible_strip(text: str) -> str:
    return _INVISIBLE_RE.sub("", text)
