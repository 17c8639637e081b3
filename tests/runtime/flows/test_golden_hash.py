"""The content hash of a fixed flow document, pinned as a literal.

What the board approves is a hash, and the engine refuses a stored version whose document
no longer hashes to it (`FlowCache`). A change of canonicalisation (key order, separators,
how unset fields are left out, Unicode) would make every approved version unrunnable, and
no other test would notice: they all compute the hash with the same code. If this test
fails, the change breaks every installation's approved versions; do not update the literal.
"""

from __future__ import annotations

from runtime.flows.document import canonical_json, content_hash
from runtime.flows.validation import validate_document

DOCUMENT = {
    "schema": "dirigent.flow/v1",
    "name": "Begrüßung",
    "description": "Grüßt Besucher mit Namen",
    "inputs": {"name": {"type": "string", "required": True, "description": "Wie heißen Sie?"}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "greet", "type": "template", "config": {"template": "Guten Tag, {{ inputs.name }}!"}},
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
    "outputs": {"text": "{{ greet.text }}"},
    "card": {"purpose": "Begrüßt Besucher", "risk": "minimal", "owner": "Empfang"},
    "layout": {"start": {"x": 0, "y": 0}},  # not hashed
}
# Computed by the code of 2026-11-27 (d1690b6), before working copies and input titles.
PINNED = "9ae806478a4065a63114c210ae337842371ee0126bdb28ac97f8f0a226926dd7"


def test_the_content_hash_of_a_fixed_document_never_changes() -> None:
    report = validate_document(DOCUMENT)
    assert report.valid, report.errors
    assert report.content_hash == PINNED
    assert report.document is not None and content_hash(report.document) == PINNED


def test_layout_is_not_hashed() -> None:
    moved = {**DOCUMENT, "layout": {"start": {"x": 500, "y": 80}, "end": {"x": 900, "y": 80}}}
    assert validate_document(moved).content_hash == PINNED
    assert b'"layout"' not in canonical_json(DOCUMENT)
