"""A Content-Security-Policy on every page (security review L11).

Pages load scripts only from this site (``static/js``; no page has an inline script or event
handler), so an injected ``<script>`` would not run even if an escape were ever missed. Inline
*styles* stay allowed: the sample email on the landing page (a sandboxed ``srcdoc`` frame, which
inherits this policy) is styled inline, as emails must be. A view that sets its own, stricter policy
keeps it (the view-in-browser page ``/d/`` allows nothing at all).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
        # https: for the social login providers a form may redirect to.
        "form-action 'self' https:",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = POLICY
        return response
