"""Words that give a page away as being in the other language.

The language crawler (`test_language_journeys.py`) reads the visible text of every page
and fails when a German page shows one of `ENGLISH`, or an English page one of `GERMAN`.
A fragment matches as whole words, ignoring case. What people entered themselves (flow
names, documents, prompts, answers) is marked `data-user-content` in the studio and not
read: the demo's German flows stay German in English mode, by design.
"""

from __future__ import annotations

import re

# English that the runtime's messages and pydantic's are made of.
ENGLISH = (
    "Field required",
    "cannot be reached",
    "expected",
    "got",
    "not found",
    "Error:",
    "the flow",
    "must",
    "Input should",
    "is not",
    "is required",
    "does not",
    "Extra inputs",
    "Value error",
    "unexpected",
    "please",
    "the run",
    "the node",
    "the template",
    "failed",
    "not permitted",
    "should be",
    "no such",
    "not allowed",
    "Loading",
)

# German of the studio's own labels and messages.
GERMAN = (
    "Pflichtfeld",
    "nicht",
    "Fehler",
    "Bitte",
    "Einträge",
    "Prüfkette",
    "wird",
    "Keine",
    "Sie",
    "werden",
    "können",
    "ist",
    "Eingabe",
    "Eingaben",
    "fehlgeschlagen",
    "gespeichert",
    "Arbeitsbereich",
    "und",
    "oder",
    "Freigabe",
)


def _pattern(fragments: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(re.escape(fragment) for fragment in sorted(fragments, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)


OTHER_LANGUAGE = {"de": _pattern(ENGLISH), "en": _pattern(GERMAN)}


# A name people gave, quoted inside one of the studio's sentences ("Version 1 of “Nachricht
# mit Freigabe” is approved"): the name keeps its language, the sentence must not.
QUOTED = re.compile(r"„[^“”]*[“”]|“[^”]*”|«[^»]*»")


def foreign(texts: list[str], lang: str) -> list[tuple[str, str]]:
    """(fragment, the text it was found in) for every text of `texts` in the other language."""
    found = []
    for text in texts:
        for match in OTHER_LANGUAGE[lang].finditer(QUOTED.sub("", text)):
            found.append((match.group(0), text[:160]))
    return found
