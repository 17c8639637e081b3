"""Lexical queries for the FTS5 index: German stopwords, folding, frequency pruning.

FTS5's `unicode61 remove_diacritics 2` tokenizer folds "Störung" to "storung" in the
index; queries are folded the same way (`fold`) to look words up in `fts5vocab`. Words
are OR-ed; long words match as prefixes, so "Reisekosten" finds
"Reisekostenrichtlinie" (German compounds) and "Hotel" finds "Hotels".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

# Words that carry no meaning for a lexical match; dropped from queries (not from the index).
GERMAN_STOPWORDS = frozenset(
    str.split("""
    aber alle allem allen aller alles als also am an ander andere auch auf aus bei beim bin bis bist
    da damit dann das dass dem den denn der des dessen die dies diese diesem diesen dieser dieses doch
    dort du durch ein eine einem einen einer eines er es etwas euch für gibt hat hatte habe haben
    hier ich ihr im in ins ist ja jede jedem jeden jeder kann kein keine können muss müssen man mich
    mir mit nach nicht noch nun nur ob oder ohne sehr sein seine sich sie sind so soll sollen über um
    und uns unser unter viel vom von vor war waren was wann warum weil welche welcher welches wenn
    wer werden wie wieviel wieviele viele wir wird wo zu zum zur
    a an and are as at be by for from how i in is it of on or the to was what when where which who why with
""")
)

_WORD = re.compile(r"\w+", re.UNICODE)


# A word in more than this share of the chunks says little (its IDF is small) and
# costs much (an OR-query scores every chunk it matches): left out of the query.
COMMON_WORD_SHARE = 0.1
# Prefix matching only for words this rare: a common prefix expands to many terms.
PREFIX_WORD_SHARE = 0.02
# Below this many chunks every query is cheap: no word is left out, every one is a prefix.
PRUNE_FROM_CHUNKS = 5000


def query_words(text: str) -> list[str]:
    """The meaningful words of a query, lower case, in order, without repeats."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in GERMAN_STOPWORDS or (len(word) < 2 and not word.isdigit()) or word in words:
            continue
        words.append(word)
    return words


def fold(word: str) -> str:
    """A word as FTS5's `unicode61 remove_diacritics 2` indexes it (ä → a; ß stays)."""
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def lexical_query(text: str, frequency: Mapping[str, int] | None = None, total: int = 0) -> str | None:
    """An FTS5 OR-query of the meaningful words; prefix match for words of 4+ letters so
    that "Reisekosten" finds "Reisekostenrichtlinie" and "Hotel" finds "Hotels".

    With `frequency` (chunks per folded word) and `total` chunks, in an index of at least
    PRUNE_FROM_CHUNKS chunks: words in more than COMMON_WORD_SHARE of the chunks are left
    out (unless nothing else is left), and only rare words (PREFIX_WORD_SHARE) are matched
    as prefixes.
    """
    words = query_words(text)
    if not words:
        return None

    def share(word: str) -> float:
        if frequency is None or total < PRUNE_FROM_CHUNKS:
            return 0.0
        return frequency.get(fold(word), 0) / total

    kept = [word for word in words if share(word) <= COMMON_WORD_SHARE] or [min(words, key=share)]
    terms = []
    for word in kept:
        prefix = len(word) >= 4 and not word.isdigit() and share(word) <= PREFIX_WORD_SHARE
        terms.append('"' + word.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " OR ".join(terms)
