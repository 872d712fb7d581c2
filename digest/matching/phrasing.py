"""A query as words for a subject line: ``author:Petrova OR "video generation" -survey`` reads
``Petrova (author) or "video generation"``. Field prefixes become words, OR is lower case,
exclusions and brackets are left out (a subject says what the email is about, not what it is not)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'-?(?:[A-Za-z]+:)?"[^"]*"?|[^\s"]+')
_FIELD = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)


def query_phrase(query: str) -> str:
    words: list[str] = []
    for token in _TOKEN.findall(query.replace("(", " ").replace(")", " ")):
        if token.startswith("-") and len(token) > 1:
            continue  # an exclusion
        if token == "OR":
            if words and words[-1] != "or":
                words.append("or")
            continue
        field = _FIELD.match(token)
        if field and field.group(2):
            name, value = field.group(1).lower(), field.group(2)
            if name == "author":
                words.append(f"{value.strip(chr(34))} (author)")
                continue
            token = value
        words.append(token)
    while words and words[-1] == "or":
        words.pop()
    return " ".join(words) or query
