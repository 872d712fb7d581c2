"""Reading a JSON list whose items may be hostile, so that one bad item is skipped, not the whole list.

Two things in one item used to fail the whole response (security review L9): a number too long for
Python to convert (``upvotes`` with 100,001 digits) and nesting deeper than the parser's recursion
limit (``[[[[...]]]]`` 100,000 deep). Numbers longer than 18 digits are read as ``HugeNumber`` (the
adapter skips that item with a reason); when the parser hits the recursion limit, the list is read
again item by item and only the too-deep item is replaced by ``Unreadable``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from digest.ingest.records import FetchError

MAX_INT_DIGITS = 18


@dataclass(frozen=True)
class HugeNumber:
    digits: int


@dataclass(frozen=True)
class Unreadable:
    reason: str


def int_bounded(text: str) -> int | HugeNumber:
    """``parse_int`` for ``json.loads``: no conversion of absurdly long numbers."""
    digits = len(text.lstrip("-"))
    return HugeNumber(digits) if digits > MAX_INT_DIGITS else int(text)


_DECODER = json.JSONDecoder(parse_int=int_bounded)
_WS = " \t\n\r"


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _value_end(text: str, start: int, *, what: str) -> int:
    """Where the array or object starting at ``start`` ends (strings and escapes respected)."""
    depth = 0
    in_string = escaped = False
    for j in range(start, len(text)):
        c = text[j]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return j + 1
    raise FetchError(f"invalid JSON (truncated?) in {what}: an item never ends")


def json_items_one_by_one(text: str, *, what: str) -> list[object]:
    """The top-level list of ``text``, item by item; an item nested too deeply becomes ``Unreadable``."""
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "[":
        raise FetchError(f"expected a JSON list in {what}")
    items: list[object] = []
    i = _skip_ws(text, i + 1)
    while i < len(text) and text[i] != "]":
        try:
            value, i = _DECODER.raw_decode(text, i)
        except RecursionError:
            i = _value_end(text, i, what=what)
            value = Unreadable("nested too deeply to read")
        except json.JSONDecodeError as exc:
            raise FetchError(f"invalid JSON in {what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        items.append(value)
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
        elif i < len(text) and text[i] != "]":
            raise FetchError(f"invalid JSON in {what}: expected ',' or ']' at character {i}")
    if i >= len(text):
        raise FetchError(f"invalid JSON (truncated?) in {what}: the list never ends")
    return items
