"""The library on the preferences page: paste ids, upload BibTeX/RIS, add from the archive, remove.

Every write is a POST with CSRF; the result (or the error naming the bad line or entry) is shown as a
message on the preferences page. Nothing is stored from an input with any error.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from digest.models import LibraryItem
from digest.views.preferences import subscription_of

from . import services
from .parse import LibraryImportError

PASTE_MAX_CHARS = 20_000


def _back() -> HttpResponse:
    return redirect(f"{reverse('digest:preferences')}#library")


def _failed(request: HttpRequest, what: str, err: LibraryImportError) -> HttpResponse:
    messages.error(request, f"Nothing was added from {what}: {err}")
    return _back()


@require_POST
@login_required
def library_paste(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("identifiers", "")
    if len(text) > PASTE_MAX_CHARS:
        messages.error(request, f"Paste at most {PASTE_MAX_CHARS:,} characters at a time.")
        return _back()
    try:
        outcome = services.library_import_identifiers(subscription=subscription_of(request), text=text)
    except LibraryImportError as err:
        return _failed(request, "what you pasted", err)
    messages.success(request, outcome.message())
    return _back()


@require_POST
@login_required
def library_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a BibTeX (.bib) or RIS (.ris) file to upload.")
        return _back()
    name = upload.name or "the file"
    try:
        data = upload.read(services.MAX_FILE_BYTES + 1)
        outcome = services.library_import_file(subscription=subscription_of(request), name=name, data=data)
    except LibraryImportError as err:
        return _failed(request, name, err)
    messages.success(request, outcome.message(name))
    return _back()


@require_POST
@login_required
def library_add(request: HttpRequest) -> HttpResponse:
    """From the archive: "add to my library" on a paper the subscriber was sent."""
    raw = request.POST.getlist("paper")
    if not raw or not all(value.isdigit() for value in raw):
        messages.error(request, "Tick the papers from your digests to add.")
        return _back()
    try:
        outcome = services.library_add_papers(subscription=subscription_of(request), paper_ids=[int(v) for v in raw])
    except LibraryImportError as err:
        messages.error(request, str(err))
    else:
        messages.success(request, outcome.message())
    target = request.POST.get("next", "")
    return redirect(target if _safe_next(target) else f"{reverse('digest:preferences')}#library")


def _safe_next(target: str) -> bool:
    """Only a path on this site (never ``//elsewhere`` or ``https://elsewhere``)."""
    return target.startswith("/") and not target.startswith(("//", "/\\"))


@require_POST
@login_required
def library_remove(request: HttpRequest, item_id: int) -> HttpResponse:
    try:
        title = services.library_item_remove(subscription=subscription_of(request), item_id=item_id)
    except LibraryItem.DoesNotExist as exc:
        raise Http404("No such paper in your library") from exc
    messages.success(request, f"Removed “{title}” from your library.")
    return _back()
