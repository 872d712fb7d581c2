"""Where a feed may read from: an http(s) URL for everyone, a local file only for the operator.

File-based feeds (``jsonl`` with a path) are an operator's tool: only ``manage.py add_feed`` creates
them, and only for files under ``PAPERBOY_IMPORT_DIR``; the admin (moderators included) can neither
create one nor turn a feed into one, and the fetcher re-checks the directory before every read, so a
row edited by other means still cannot make the server read ``/etc/shadow`` (security review M2).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from digest.ingest.text import url_clean


class SourceRefused(ValueError):
    """The feed's kind and url cannot be used (the message says why, for a form or the command line)."""


def import_dir() -> Path:
    return Path(getattr(settings, "PAPERBOY_IMPORT_DIR", Path(settings.VAR_DIR) / "import")).expanduser().resolve()


def import_path_resolve(raw: str) -> Path:
    """The real path of a file under ``PAPERBOY_IMPORT_DIR`` (symlinks and ``..`` resolved first)."""
    base = import_dir()
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    path = candidate.resolve()
    if not path.is_relative_to(base):
        raise SourceRefused(f"file feeds must be under PAPERBOY_IMPORT_DIR ({base}); {raw!r} is not")
    return path


def source_is_file(*, kind: str, url: str) -> bool:
    return kind == "jsonl" and bool(url.strip()) and not url_clean(url.strip())


def source_check(*, kind: str, url: str, files_allowed: bool) -> str:
    """The url to store for a feed of ``kind``; raises ``SourceRefused``.

    ``files_allowed`` is True only for the operator's command line.
    """
    url = url.strip()
    if url_clean(url):
        return url
    if kind == "rss":
        raise SourceRefused("an RSS/Atom feed needs an http(s) URL")
    if kind != "jsonl":
        if url:
            raise SourceRefused(f"the URL must be an http(s) URL, got {url!r}")
        return ""
    if not url:
        raise SourceRefused("a JSON Lines feed needs an http(s) URL" + (" or a file path" if files_allowed else ""))
    if not files_allowed:
        raise SourceRefused("a feed that reads a file on the server can only be added with manage.py add_feed")
    path = import_path_resolve(url)
    if not path.is_file():
        raise SourceRefused(f"no such file: {path}")
    return str(path)
