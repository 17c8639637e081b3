"""Chunking: paragraphs first, then sentences, with an overlap of whole sentences.

German text breaks naive splitters in three ways, all handled here:

* abbreviations end in a period: "z. B.", "d. h.", "Nr.", "bzw.", "ca.", "Abs.", "Dr." —
  a period after a known abbreviation or a single letter is never a sentence end;
* ordinal numbers do too: "am 1. März", "im 2. Quartal", "3. Mahnung" — a period after
  a bare number of one to three digits is an ordinal, not an end (dates like
  "01.03.2025" have no space and are never split anyway);
* umlauts and ß are letters (`str.isalpha`, `\\w`), so "Übergabe" after a period starts a
  sentence like any capitalised word.

A chunk holds whole paragraphs while they fit into `max_chars`; a longer paragraph is
cut at sentence ends, a longer sentence at word boundaries. Each chunk after the first
of a section starts with the last sentences of the one before, up to `overlap_chars`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.knowledge.errors import FileTooComplex
from runtime.knowledge.extract import Section
from runtime.knowledge.limits import IngestLimits

# Lower case, without the final period. Single letters are handled generally (initials,
# "z. B.", "d. h.", "u. a.", "i. d. R."), so they need not be listed.
ABBREVIATIONS = frozenset(
    {
        "abb",
        "abs",
        "abt",
        "adr",
        "akt",
        "allg",
        "anh",
        "anl",
        "anm",
        "art",
        "aufl",
        "az",
        "bd",
        "bearb",
        "beil",
        "best",
        "betr",
        "bsp",
        "bspw",
        "bzgl",
        "bzw",
        "ca",
        "co",
        "dgl",
        "dipl",
        "dr",
        "dt",
        "ebd",
        "eigtl",
        "einschl",
        "engl",
        "entspr",
        "erg",
        "etc",
        "ev",
        "evtl",
        "exkl",
        "fa",
        "fam",
        "ff",
        "fr",
        "frl",
        "gebr",
        "gegr",
        "gem",
        "gez",
        "ggf",
        "ggfs",
        "hbf",
        "hg",
        "hr",
        "hrsg",
        "hrn",
        "inkl",
        "insb",
        "ing",
        "jh",
        "jr",
        "kap",
        "kfm",
        "kfr",
        "kl",
        "lfd",
        "lt",
        "max",
        "mdb",
        "mio",
        "mind",
        "min",
        "mrd",
        "mwst",
        "nachf",
        "nr",
        "nrn",
        "o.ä",
        "od",
        "öff",
        "pkt",
        "pos",
        "prof",
        "rd",
        "rdnr",
        "rep",
        "resp",
        "rz",
        "sa",
        "sek",
        "sog",
        "sp",
        "spez",
        "st",
        "std",
        "str",
        "stv",
        "tel",
        "tsd",
        "tz",
        "ua",
        "uvm",
        "usf",
        "usw",
        "verf",
        "vgl",
        "vj",
        "vs",
        "zb",
        "zi",
        "ziff",
        "zt",
        "zzgl",
        "zus",
        "zw",
        "jan",
        "feb",
        "febr",
        "mär",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "okt",
        "nov",
        "dez",
        "mo",
        "di",
        "mi",
    }
)

# Words after which a number is a reference ("Nr. 5"), not an ordinal ("5. Mai").
_NUMBER_PREFIXES = frozenset(
    {
        "nr",
        "nrn",
        "abs",
        "art",
        "ziff",
        "kap",
        "pos",
        "seite",
        "s",
        "tel",
        "rdnr",
        "az",
        "nummer",
        "ticket",
        "raum",
        "zimmer",
        "version",
        "v",
    }
)

# A candidate sentence end: ., ! or ? (or …), optional closing quotes/brackets, whitespace.
_CANDIDATE = re.compile(r"([.!?…]+)([\"'»«“”\u2018\u2019)\]]*)(\s+)")
_WORD_BEFORE = re.compile(r"([\w.-]+)$")
# How far back the word before a period is looked for. A bounded window keeps splitting
# linear in the paragraph (searching from its start made a long paragraph quadratic); no
# abbreviation or number is this long.
_WORD_WINDOW = 80


class ChunkingSettings(BaseModel):
    """How an index cuts documents into passages."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(800, ge=100, le=8000, description="Longest passage in characters")
    overlap_chars: int = Field(
        150,
        ge=0,
        le=2000,
        description="Up to this many characters of whole sentences repeat in the next passage",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap_chars >= self.max_chars // 2:
            raise ValueError(
                f"overlap_chars ({self.overlap_chars}) must be less than half of max_chars ({self.max_chars})"
            )
        return self


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    page: int | None = None
    section: str | None = None


def _is_sentence_end(text: str, period_at: int, marks: str, following: str) -> bool:
    if not following:
        return True
    first = following[0]
    if marks != ".":  # "!", "?", "...", "?!" end sentences whatever follows
        return not first.islower()
    match = _WORD_BEFORE.search(text, max(period_at - _WORD_WINDOW, 0), period_at)
    word = match.group(1) if match else ""
    token = word.rsplit(".", 1)[-1] if "." in word.rstrip(".") else word
    bare = token.lower().strip("-")
    if len(bare) == 1 and bare.isalpha():  # initials, "z. B.", "d. h."
        return False
    if bare in ABBREVIATIONS or word.lower().rstrip(".") in ABBREVIATIONS:
        return False
    if bare.isdigit() and len(bare) <= 3:
        # "Nr. 5." or "§ 3." refer to a number: the period may end the sentence. Otherwise
        # a small bare number is an ordinal: "1. März", "2. Quartal", "3. Mahnung".
        start = match.start() if match else 0
        before = (
            _WORD_BEFORE.search(text, max(start - 1 - _WORD_WINDOW, 0), max(start - 1, 0)) if match else None
        )
        referring = before is not None and before.group(1).lower().rstrip(".") in _NUMBER_PREFIXES
        if not referring and _last_visible(text, start) != "§":
            return False
    if "." in word.rstrip(".") and not word.replace(".", "").isdigit():  # "u.a", "i.d.R", "e.V"
        parts = [part for part in word.split(".") if part]
        if parts and all(len(part) <= 2 for part in parts):
            return False
    # A lower-case word after the period continues the sentence ("ca. zwei", "usw. sowie").
    return not first.islower()


def _last_visible(text: str, end: int) -> str:
    """The last character before `end` that is not whitespace ("" if there is none)."""
    index = end - 1
    while index >= 0 and text[index].isspace():
        index -= 1
    return text[index] if index >= 0 else ""


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph, whitespace kept inside, stripped at the ends."""
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        end = match.end()
        following = text[end : end + 1]
        if _is_sentence_end(text, match.start(), match.group(1), following):
            sentence = text[start : match.start(3)].strip()
            if sentence:
                sentences.append(sentence)
            start = end
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def split_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single line breaks inside are kept as spaces,
    except before list items, which stay on lines of their own."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        joined = lines[0]
        for line in lines[1:]:
            is_item = bool(re.match(r"^([-*•\u2013]|\d{1,3}[.)]|[a-z][.)])\s", line))
            joined += ("\n" if is_item else " ") + line
        paragraphs.append(joined)
    return paragraphs


def _split_long(sentence: str, max_chars: int) -> Iterator[str]:
    """A sentence longer than a chunk, cut at word boundaries."""
    words = sentence.split(" ")
    piece = ""
    for word in words:
        while len(word) > max_chars:  # a "word" this long is not prose (a hash, a URL)
            if piece:
                yield piece
                piece = ""
            yield word[:max_chars]
            word = word[max_chars:]
        candidate = f"{piece} {word}" if piece else word
        if len(candidate) > max_chars and piece:
            yield piece
            piece = word
        else:
            piece = candidate
    if piece:
        yield piece


def _units(text: str, max_chars: int) -> Iterator[tuple[str, bool]]:
    """(unit, starts_paragraph): whole paragraphs when they fit, else their sentences."""
    for paragraph in split_paragraphs(text):
        if len(paragraph) <= max_chars:
            yield paragraph, True
            continue
        first = True
        for sentence in split_sentences(paragraph):
            for piece in _split_long(sentence, max_chars) if len(sentence) > max_chars else [sentence]:
                yield piece, first
                first = False


def chunk_text(text: str, settings: ChunkingSettings | None = None) -> list[str]:
    """`text` cut into passages of at most `max_chars` characters, with overlap."""
    return list(iter_chunks(text, settings))


def iter_chunks(text: str, settings: ChunkingSettings | None = None) -> Iterator[str]:
    """`chunk_text`, one passage at a time (a caller with a limit stops early)."""
    settings = settings or ChunkingSettings.model_validate({})
    max_chars, overlap_chars = settings.max_chars, settings.overlap_chars
    current: list[str] = []  # units of the chunk being built
    joiners: list[str] = []  # what goes before each unit: "\n\n" at paragraphs, " " inside
    fresh = 0  # units in `current` that are not overlap from the previous chunk

    def length(units: list[str], seps: list[str]) -> int:
        return sum(map(len, units)) + sum(map(len, seps[1:]))

    def render(units: list[str], seps: list[str]) -> str:
        return "".join((seps[i] if i else "") + unit for i, unit in enumerate(units))

    for unit, starts_paragraph in _units(text, max_chars):
        separator = "\n\n" if starts_paragraph else " "
        if current and length(current, joiners) + len(separator) + len(unit) > max_chars:
            if fresh and (finished := render(current, joiners).strip()):
                yield finished
            # Carry whole trailing sentences of the finished chunk, up to overlap_chars.
            tail: list[str] = []
            tail_seps: list[str] = []
            for previous in reversed(current):
                for sentence in reversed(split_sentences(previous)):
                    if length([sentence, *tail], [" ", *tail_seps]) > overlap_chars:
                        break
                    tail.insert(0, sentence)
                    tail_seps.insert(0, " ")
                else:
                    continue
                break
            room = max_chars - len(unit) - len(separator)
            while tail and length(tail, tail_seps) > room:
                tail.pop(0)
                tail_seps.pop(0)
            current, joiners, fresh = tail, tail_seps, 0
        current.append(unit)
        joiners.append(separator)
        fresh += 1
    if current and fresh and (finished := render(current, joiners).strip()):
        yield finished


def chunk_sections(
    sections: Iterable[Section], settings: ChunkingSettings | None = None, limits: IngestLimits | None = None
) -> list[Chunk]:
    """Chunks of every section, numbered through the document, each with its page/section.

    With `limits`: at most `max_chunks` chunks, of at most `max_document_bytes` (UTF-8
    text and section labels, which is what the index stores per passage); else
    `FileTooComplex`.
    """
    chunks: list[Chunk] = []
    written = 0
    for section in sections:
        label_bytes = len((section.section or "").encode())
        for text in iter_chunks(section.text, settings):
            chunks.append(Chunk(len(chunks), text, section.page, section.section))
            if limits is None:
                continue
            written += len(text.encode()) + label_bytes
            if len(chunks) > limits.max_chunks:
                raise FileTooComplex("chunks", limits.max_chunks)
            if written > limits.max_document_bytes:
                raise FileTooComplex("document_bytes", limits.max_document_bytes, written)
    return chunks
