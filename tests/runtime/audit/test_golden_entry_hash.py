"""The hash of a fixed audit entry, pinned as a literal.

Every stored entry carries the hash of its content and of the entry before it; `verify`
recomputes them. A change of the canonical JSON (`runtime.canonical`: key order,
separators, Unicode, number forms) or of the timestamp format would make every existing
chain fail verification, and no other test would notice: they all hash with the same code.
If this test fails, the change breaks every installation's audit log; do not update the
literal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from runtime.audit.service import compute_entry_hash, entry_as_json
from runtime.canonical import canonical_json
from runtime.engine.document import canonical_document

ENTRY = SimpleNamespace(
    seq=42,
    at=datetime(2026, 11, 27, 9, 15, 2, 123456, tzinfo=UTC),
    actor="jürgen",
    action="flow.version.approved",
    resource_type="flow_version",
    resource_id="v-1",
    version_hash="9ae806478a4065a63114c210ae337842371ee0126bdb28ac97f8f0a226926dd7",
    detail={"kommentar": "Geprüft \u2013 ok ✓", "zahl": 1.5, "liste": [3, 1, {"b": None, "a": 1}], "Z": "z"},
    prev_hash="0" * 64,
    entry_hash="",
)
# Computed by the code of 2026-12-07 (fd9f431), when audit and flows each had a canonical_json.
PINNED = "8be61a884ef5820a1890b7f1d1d3d6101c43e272c390ac52539e2bbe08e2d880"


def test_the_hash_of_a_fixed_audit_entry_never_changes() -> None:
    assert compute_entry_hash(ENTRY) == PINNED


def test_an_exported_entry_is_the_canonical_json_that_was_hashed() -> None:
    exported = entry_as_json(ENTRY)
    del exported["entry_hash"]
    line = canonical_json(exported)
    assert '"actor":"jürgen"' in line and ", " not in line
    detail = '"detail":{"Z":"z","kommentar":"Geprüft \u2013 ok ✓","liste":[3,1,{"a":1,"b":null}],"zahl":1.5}'
    assert detail in line


def test_flow_documents_and_audit_entries_share_one_encoding() -> None:
    document = {"name": "Grüße", "nodes": [], "b": 1.0, "a": {"y": None, "x": [True]}, "layout": {}}
    without_layout = {key: value for key, value in document.items() if key != "layout"}
    assert canonical_document(document) == canonical_json(without_layout).encode("utf-8")
    assert (
        canonical_document(document)
        == '{"a":{"x":[true],"y":null},"b":1.0,"name":"Grüße","nodes":[]}'.encode()
    )
