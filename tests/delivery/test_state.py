"""``digest/delivery/state.py`` is the only module that changes ``Delivery.state``.

Checked on the source (AST), so a new write anywhere in ``digest/`` fails here before it can disagree
with the state machine. Rows are born (planned) in ``digest/delivery/plan.py`` (and a test digest in
``digest/delivery/sample.py``); that is not a change.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from digest.models import Delivery

DIGEST = Path(__file__).resolve().parents[2] / "digest"
OWNER = DIGEST / "delivery" / "state.py"
BIRTHPLACES = {DIGEST / "delivery" / "plan.py", DIGEST / "delivery" / "sample.py"}


def _call_writes(node: ast.Call, *, births_allowed: bool) -> bool:
    func = ast.unparse(node.func)
    if func == "setattr":
        return len(node.args) > 1 and ast.unparse(node.args[1]) == "'state'"
    if "state" not in {k.arg for k in node.keywords}:
        return False
    if func.endswith((".update", ".update_or_create", ".bulk_update")):
        return "Delivery" in ast.unparse(node)
    births = {"Delivery", "Delivery.objects.create", "Delivery.objects.get_or_create"}
    return func in births and not births_allowed


def _assign_writes(node: ast.Assign | ast.AugAssign | ast.AnnAssign) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    value = ast.unparse(node.value) if node.value is not None else ""
    for target in targets:
        if isinstance(target, ast.Attribute) and target.attr == "state":
            owner = ast.unparse(target.value).lower()
            # self.state = self.State.X: a model method (the Delivery.mark_* methods were these)
            if "deliver" in owner or "Delivery.State" in value or (owner == "self" and "State." in value):
                return True
    return False


def _dict_writes(node: ast.Dict) -> bool:
    return any(
        isinstance(key, ast.Constant) and key.value == "state" and "Delivery.State" in ast.unparse(value)
        for key, value in zip(node.keys, node.values, strict=True)
    )


def _sql_writes(node: ast.Constant | ast.JoinedStr) -> bool:
    text = node.value if isinstance(node, ast.Constant) else ast.unparse(node)
    return isinstance(text, str) and "set state" in text.lower()


def state_writes(source: str, *, births_allowed: bool = False) -> list[str]:
    """Every place in ``source`` that writes ``Delivery.state``, as ``line: code``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            writes = _call_writes(node, births_allowed=births_allowed)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            writes = _assign_writes(node)
        elif isinstance(node, ast.Dict):
            writes = _dict_writes(node)
        elif isinstance(node, (ast.Constant, ast.JoinedStr)):
            writes = _sql_writes(node)
        else:
            writes = False
        if writes:
            found.append(f"{getattr(node, 'lineno', '?')}: {ast.unparse(node)[:100]}")
    return found


def test_no_module_but_the_state_owner_changes_a_deliverys_state():
    writes = {}
    for path in sorted(DIGEST.rglob("*.py")):
        if path == OWNER or "migrations" in path.parts:
            continue
        found = state_writes(path.read_text(), births_allowed=path in BIRTHPLACES)
        if found:
            writes[str(path.relative_to(DIGEST.parent))] = found
    assert writes == {}, "write Delivery.state through digest/delivery/state.py"


@pytest.mark.parametrize(
    "code",
    [
        "Delivery.objects.filter(id=1).update(state=Delivery.State.SENT)",
        "rows.update(state=Delivery.State.FAILED, last_error='x')  # rows of Delivery",
        "delivery.state = 'sent'",
        "d.state = Delivery.State.SKIPPED",
        "Delivery.objects.filter(pk=1).update(**{'state': Delivery.State.PENDING})",
        "setattr(delivery, 'state', value)",
        "SQL = \"UPDATE digest_delivery SET state = 'sent' WHERE id = %s\"",
        "SQL = f\"UPDATE {table} SET state = '{x}'\"",
        "Delivery.objects.create(state=Delivery.State.PENDING)",
        "def mark_sent(self):\n    self.state = self.State.SENT",
    ],
)
def test_the_owner_check_catches_every_way_of_writing_a_state(code):
    assert state_writes(code)


@pytest.mark.parametrize(
    "code",
    [
        "Delivery.objects.filter(state=Delivery.State.PENDING).count()",
        "feed.state = Feed.State.APPROVED",
        "Feed.objects.filter(pk=1).update(state=Feed.State.DISABLED)",
        "Delivery(state=Delivery.State.PENDING, slot=day)",
    ],
)
def test_the_owner_check_leaves_reads_other_models_and_the_planners_births_alone(code):
    assert state_writes(code, births_allowed=True) == []


def test_the_one_statement_path_spells_its_states_from_the_model():
    from digest.delivery.state import _SENT_AND_CLAIM_SQL

    for state in (Delivery.State.SENT, Delivery.State.SENDING, Delivery.State.PENDING):
        assert f"'{state.value}'" in _SENT_AND_CLAIM_SQL
