"""Canonical JSON: the one encoding that every stored hash of Dirigent is taken over.

Sorted keys, compact separators (`,` and `:`), non-ASCII characters kept as they are
(hashed as UTF-8), NaN and Infinity refused. Two kinds of stored hash rest on it:

- the content hash of a flow version (`runtime.engine.document.canonical_document`: the
  document without what is not part of a version's identity, in this encoding, as UTF-8);
- the hash chain of the audit log (`runtime.audit.service.compute_entry_hash`: an entry's
  hashed fields in this encoding, as UTF-8), and the lines of its export and anchors.

Both used to spell the same `json.dumps` call each for itself; they agreed in every
detail, so one function serves both and no stored hash changes. Changing anything here
changes the hash of every approved flow version (which then no longer runs) and breaks
every audit chain: `tests/runtime/flows/test_golden_hash.py` and
`tests/runtime/audit/test_golden_entry_hash.py` pin one of each.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, compact separators, no NaN/Infinity, non-ASCII kept (hash it as UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
