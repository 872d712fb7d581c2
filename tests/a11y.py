"""Accessibility checks with axe-core (Deque), the tool the review used, injected into real Chromium pages.

``axe_check(page, name)`` runs axe's default rule set (WCAG 2.x A/AA and best practices) on the page as
it is now and fails on any *serious* or *critical* violation, naming the rule, its help text and the
offending elements. Moderate and minor findings are returned, not failed on.

axe-core is vendored, pinned and checked by hash (tests/vendor/axe-core/), so no test needs npm or a
network. Pages under a strict CSP (the digest's "view in browser") are opened with CSP bypassed in
their own browser context: axe is a script, and the page's policy forbids scripts.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
AXE_PATH = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


@cache
def axe_source() -> str:
    data = AXE_PATH.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, f"{AXE_PATH} is not axe-core {AXE_VERSION} as vendored (sha256 {digest})"
    return data.decode("utf-8")


def axe_run(page) -> dict:
    """axe's results for the page (its main document; framed documents are checked on their own)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    return page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"], iframes: false});
            return {version: axe.version, violations: results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))};
        }"""
    )


def axe_check(page, name: str) -> list[dict]:
    """Fail on serious/critical violations; return the lesser ones."""
    results = axe_run(page)
    assert results["version"] == AXE_VERSION
    bad = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
    assert not bad, f"axe-core found {len(bad)} serious/critical violation(s) on {name}:\n" + "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']} -> {v['nodes']}" for v in bad
    )
    return [v for v in results["violations"] if v["impact"] not in FAILING_IMPACTS]
