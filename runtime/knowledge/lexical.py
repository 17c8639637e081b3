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
from dataclasses import dataclass
from functools import lru_cache

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

# Letters and digits, as FTS5's unicode61 tokenizer cuts words (the underscore separates).
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


# A word in more than this share of the chunks says little (its IDF is small) and
# costs much (its postings are read whole): left out of the query.
COMMON_WORD_SHARE = 0.1
# Prefix matching only for words this rare: a common prefix expands to many terms.
PREFIX_WORD_SHARE = 0.02
# Below this many chunks every query is cheap: no word is left out, every one is a prefix.
PRUNE_FROM_CHUNKS = 5000


def query_words(text: str) -> list[str]:
    """The meaningful words of a query, lower case, in order, without repeats (after folding)."""
    words: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(text.lower()):
        if word in GERMAN_STOPWORDS or (len(word) < 2 and not word.isdigit()) or fold(word) in seen:
            continue
        words.append(word)
        seen.add(fold(word))
    return words


@lru_cache(maxsize=65_536)
def fold(word: str) -> str:
    """A word as FTS5's `unicode61 remove_diacritics 2` indexes it (ä → a; ß stays)."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class Phrase:
    """One phrase of a lexical query: a word, or with `prefix` every word it begins."""

    word: str  # lower case, as asked
    term: str  # folded, as the index holds it
    prefix: bool
    frequency: int  # chunks holding exactly `term`; 0 when not looked up

    def match(self) -> str:
        """The phrase in FTS5's query syntax."""
        return '"' + self.word.replace('"', '""') + '"' + ("*" if self.prefix else "")


def lexical_phrases(text: str, frequency: Mapping[str, int] | None = None, total: int = 0) -> list[Phrase]:
    """The phrases to search for, in the order of the query: the meaningful words, each a
    prefix if it has 4+ letters, so that "Reisekosten" finds "Reisekostenrichtlinie"
    and "Hotel" finds "Hotels".

    With `frequency` (chunks per folded word) and `total` chunks, in an index of at least
    PRUNE_FROM_CHUNKS chunks: words in more than COMMON_WORD_SHARE of the chunks are left
    out (unless nothing else is left), and only rare words (PREFIX_WORD_SHARE) are matched
    as prefixes.
    """
    words = query_words(text)
    if not words:
        return []
    known = frequency or {}

    def share(word: str) -> float:
        if frequency is None or total < PRUNE_FROM_CHUNKS:
            return 0.0
        return known.get(fold(word), 0) / total

    kept = [word for word in words if share(word) <= COMMON_WORD_SHARE] or [min(words, key=share)]
    return [
        Phrase(
            word=word,
            term=fold(word),
            prefix=len(word) >= 4 and not word.isdigit() and share(word) <= PREFIX_WORD_SHARE,
            frequency=known.get(fold(word), 0),
        )
        for word in kept
    ]


def lexical_query(text: str, frequency: Mapping[str, int] | None = None, total: int = 0) -> str | None:
    """`lexical_phrases` as one FTS5 OR-query, or None when no word is meaningful."""
    phrases = lexical_phrases(text, frequency, total)
    return " OR ".join(phrase.match() for phrase in phrases) if phrases else None
