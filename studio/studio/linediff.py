"""Two texts (a prompt before and after) as lines to read: unchanged, added, removed.

`line_diff(old, new)` compares line by line (`difflib.SequenceMatcher`) and keeps
`context` unchanged lines around each change; longer unchanged stretches become one
`gap` line. Each line is its own text (never a `\\n` inside), numbered on the side(s) it
belongs to, with a `key` unique within the result, so a page can render one element per
line. Texts longer than `MAX_LINES` lines are compared on their first `MAX_LINES` lines
(bounded work), and a last `gap` line says that the rest was left out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

MAX_LINES = 2000
CONTEXT = 3


@dataclass
class DiffLine:
    key: str = ""
    kind: str = "same"  # same | added | removed | gap
    text: str = ""
    old_no: str = ""  # line number in the old text ("" on added lines and gaps)
    new_no: str = ""  # line number in the new text ("" on removed lines and gaps)


def _lines(text: str | None) -> list[str]:
    return (text or "").splitlines()


def line_diff(old: str | None, new: str | None, context: int = CONTEXT) -> list[DiffLine]:
    """The lines of `new` against `old`; [] when both texts have the same lines."""
    before, after = _lines(old), _lines(new)
    cut = len(before) > MAX_LINES or len(after) > MAX_LINES
    before, after = before[:MAX_LINES], after[:MAX_LINES]
    if before == after and not cut:
        return []
    result: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for number, group in enumerate(matcher.get_grouped_opcodes(context)):
        first_old, first_new = group[0][1], group[0][3]
        if number > 0 or first_old > 0 or first_new > 0:
            result.append(DiffLine(key=f"gap{number}", kind="gap", text="…"))
        for tag, old_start, old_end, new_start, new_end in group:
            if tag == "equal":
                for offset in range(old_end - old_start):
                    old_no, new_no = old_start + offset + 1, new_start + offset + 1
                    result.append(
                        DiffLine(f"s{old_no}-{new_no}", "same", after[new_no - 1], str(old_no), str(new_no))
                    )
                continue
            for old_no in range(old_start + 1, old_end + 1):
                result.append(DiffLine(f"r{old_no}", "removed", before[old_no - 1], old_no=str(old_no)))
            for new_no in range(new_start + 1, new_end + 1):
                result.append(DiffLine(f"a{new_no}", "added", after[new_no - 1], new_no=str(new_no)))
    if cut:
        # Lines left over at the cut are the cut's doing, not a change: the rest was not compared.
        while result and result[-1].kind in ("added", "removed"):
            result.pop()
    last = result[-1] if result else None
    trailing = last is not None and last.kind != "gap" and _ends_before_the_end(last, before, after)
    if (trailing or cut) and not (last is not None and last.kind == "gap"):
        result.append(DiffLine(key="gap-end", kind="gap", text="…"))
    return result


def _ends_before_the_end(last: DiffLine, before: list[str], after: list[str]) -> bool:
    """Whether unchanged lines follow the last line shown (they are left out: a gap)."""
    if last.new_no:
        return int(last.new_no) < len(after)
    return int(last.old_no) < len(before)
