"""Knowledge: ingestion throughput against the bare model, and search latency and recall.

Prints figures; asserts nothing.

1. Ingestion. The German test corpus (tests/knowledge/corpus, its Markdown and text files
   copied with a line of difference so every copy is new) goes through the whole pipeline
   — upload spool, ingestion job, extraction, chunking, embedding, store writes, document
   rows and audit entries on a SQLite database — and the same chunk texts go through the
   bare `SentenceTransformer.encode` with the same calls, alternately, in this run; and
   the share of the pipeline's wall time spent inside the model's `encode`.
   Figure: chunks/s of each per round, and the pipeline's share of the bare model's
   speed taken *per round* (the pipeline and the bare model of the same round, back to
   back, so they saw the same neighbours): the median share over the rounds and its
   range (goal: at least 90 %).

2. Search. An embedded store with N chunks (synthetic 384-dimensional vectors that, like
   sentence embeddings, lie near a low-dimensional subspace; German-looking synthetic
   text for the lexical index), half of them carrying a label the searcher may not
   read. For queries near stored chunks: latency p50/p99 of the dense search (faiss HNSW
   with the access bitmap, or the exact scan below 20k allowed chunks) and of the full
   hybrid search (dense + BM25 over the FTS5 postings + RRF + reading the rows), and
   recall@10 of the dense search against an exact search over the allowed chunks (goal:
   p50 <= 5 ms, recall >= 0.95). Answer quality of the hybrid search: recall@10 against
   an exact, unpruned hybrid search: the exact dense scan, and FTS5's own bm25() over
   every match of the *whole* query (every meaningful word, each of 4+ letters as a
   prefix — none of the search's pruning: no common word left out, no prefix narrowed
   to a plain word, no postings budget), fused the same way; so the figure judges the
   pruning (and HNSW). The lexical ranking alone is judged the same way (lexical
   recall@10 against bm25() over the whole query). Latency is wall time; on a shared
   machine the CPU time of the searching thread (p50) is the steadier figure.

    .venv/bin/python bench/knowledge.py             # both parts, 10k and 100k chunks
    .venv/bin/python bench/knowledge.py --quick     # fewer chunks and queries (rough)
    .venv/bin/python bench/knowledge.py --json      # one JSON object
    .venv/bin/python bench/knowledge.py --sizes 100000 --skip-ingestion   # search at 100k only
    .venv/bin/python bench/knowledge.py --sizes 10000 --skip-ingestion --common-word-share 1.0
                                                # the recall without one step of the pruning
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from runtime.db.database import Database  # noqa: E402
from runtime.db.migrate import upgrade  # noqa: E402
from runtime.knowledge import bm25 as bm25_module  # noqa: E402
from runtime.knowledge import lexical as lexical_module  # noqa: E402
from runtime.knowledge import store as store_module  # noqa: E402
from runtime.knowledge.embedding import load_model  # noqa: E402
from runtime.knowledge.lexical import lexical_query  # noqa: E402
from runtime.knowledge.models import IngestionJob  # noqa: E402
from runtime.knowledge.service import KnowledgeService  # noqa: E402
from runtime.knowledge.store import EmbeddedStore, StoredChunk  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.users.service import add_user, load_actor  # noqa: E402

CORPUS = ROOT / "tests" / "knowledge" / "corpus"
DIMENSION = 384
WORDS = [
    "angebot",
    "vertrag",
    "rechnung",
    "lieferung",
    "wartung",
    "kündigung",
    "haftung",
    "reise",
    "hotel",
    "bahn",
    "urlaub",
    "antrag",
    "gehalt",
    "bonus",
    "drucker",
    "toner",
    "laptop",
    "zugang",
    "schulung",
    "datenschutz",
    "löschfrist",
    "dienstwagen",
    "tankkarte",
    "unfall",
    "kunde",
    "lager",
    "software",
    "lizenz",
    "preis",
    "rabatt",
    "frist",
    "termin",
    "projekt",
    "abnahme",
    "mangel",
    "garantie",
    "montage",
    "ersatzteil",
    "störung",
    "ticket",
    "netzwerk",
    "passwort",
    "konto",
    "freigabe",
    "prüfung",
    "bericht",
    "qualität",
    "audit",
    "norm",
    "zertifikat",
    "schicht",
    "werk",
    "halle",
    "maschine",
    "steuerung",
    "wartungsplan",
    "inspektion",
]


# -- 1. ingestion -------------------------------------------------------------------------
def corpus_copies(directory: Path, copies: int, *, long: bool = False) -> list[Path]:
    """Copies of the corpus' Markdown and text files (short: 1-6 chunks each), or with
    `long`, documents that each hold all of them (about 25 chunks, like a contract)."""
    sources = sorted(p for p in CORPUS.iterdir() if p.suffix in (".md", ".txt"))
    texts = [(source.name, source.read_text(encoding="utf-8")) for source in sources]
    if long:
        texts = [
            (f"handbuch-{number}.md", "\n\n".join(text for _, text in texts))
            for number in range(len(texts) // 3)
        ]
    paths = []
    for number in range(copies):
        for name, text in texts:
            target = directory / f"{number:03d}-{name}"
            target.write_text(text + f"\n\nAusfertigung {number}.\n", encoding="utf-8")
            paths.append(target)
    return paths


async def pipeline_round(
    work: Path, files: list[Path], round_number: int
) -> tuple[float, float, int, list[list[str]]]:
    """Seconds (wall, CPU) and chunks for one ingestion job over `files` into a fresh index."""
    settings = Settings(data_dir=work / f"data-{round_number}", jwt_secret="bench-" + "x" * 40)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    await upgrade(db.write_engine)
    async with db.write() as session:
        user = await add_user(session, "champion", "correct-horse-battery", "champion", "bench")
    async with db.read() as session:
        actor = await load_actor(session, user.id)
    assert actor is not None
    service = KnowledgeService(settings, db)
    try:
        index = await service.create_index(actor, "bench", "corpus")
        started, started_cpu = time.perf_counter(), time.process_time()
        job = await service.jobs.ingest_paths(actor, index["id"], files)
        await service.jobs.wait(job["id"], 3600)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - started_cpu
        async with db.read() as session:
            row = await session.get(IngestionJob, job["id"])
        assert row is not None and row.status == "succeeded", row and row.files
        backend = await service.backends.get(await _index_row(service, index["id"]))
        rows = backend.store._db.execute("SELECT document_id, text FROM chunks ORDER BY pos")  # type: ignore[attr-defined]
        by_document: dict[str, list[str]] = {}
        for document_id, text in rows:
            by_document.setdefault(document_id, []).append(text)
        return elapsed, cpu, row.chunks_done, list(by_document.values())
    finally:
        await service.close()
        await db.dispose()


async def _index_row(service: KnowledgeService, index_id: str) -> Any:
    from runtime.knowledge.models import KnowledgeIndex

    async with service.db.read() as session:
        return await session.get(KnowledgeIndex, index_id)


def bare_round(documents: list[list[str]], batch: int) -> tuple[float, float]:
    """The model alone, called as the pipeline calls it — per document, in batches of
    `batch` — on one worker thread (on a busy machine torch runs markedly faster there
    than on the main thread). Batching differently changes the model's own speed (on
    this CPU, per-document batches of short chunks ran faster than batches of 64 mixed
    ones), which is not the pipeline's cost, so the calls are kept the same."""
    model = load_model()

    def encode_all() -> tuple[float, float]:
        started, started_cpu = time.perf_counter(), time.process_time()
        for texts in documents:
            for start in range(0, len(texts), batch):
                model.encode(texts[start : start + batch])
        return time.perf_counter() - started, time.process_time() - started_cpu

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(encode_all).result()


class ModelClock:
    """Adds up the wall time spent inside `model.encode` while the pipeline runs."""

    def __init__(self) -> None:
        self.model = load_model()
        self.seconds = 0.0
        self._encode = self.model.encode

    def __enter__(self) -> ModelClock:
        def timed(texts: list[str]) -> Any:
            started = time.perf_counter()
            try:
                return self._encode(texts)
            finally:
                self.seconds += time.perf_counter() - started

        self.model.encode = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self.model.encode  # back to the class's method


def median_and_range(values: list[float], digits: int = 3) -> tuple[float, float, float]:
    return round(statistics.median(values), digits), round(min(values), digits), round(max(values), digits)


def bench_ingestion(copies: int, rounds: int, *, long: bool = False) -> dict[str, Any]:
    from runtime.knowledge.backends import EMBED_BATCH

    load_model().encode(["warm-up"])
    pipeline, bare, pipeline_cpu, bare_cpu, in_model = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="dirigent-bench-") as tmp:
        work = Path(tmp)
        (work / "files").mkdir()
        files = corpus_copies(work / "files", copies, long=long)
        chunks = 0
        for number in range(rounds):
            with ModelClock() as clock:
                seconds, cpu, chunks, documents = asyncio.run(pipeline_round(work, files, number))
            in_model.append(clock.seconds / seconds)
            bare_seconds, bare_cpu_seconds = bare_round(documents, EMBED_BATCH)
            pipeline.append(chunks / seconds)
            pipeline_cpu.append(chunks / cpu)
            bare.append(sum(map(len, documents)) / bare_seconds)
            bare_cpu.append(sum(map(len, documents)) / bare_cpu_seconds)
    # On a shared machine wall time swings with the neighbours' load; CPU time (all threads
    # of this process) is the steadier measure of what the pipeline costs beyond the model.
    # A round's pipeline and bare model run back to back: their ratio is taken per round (the
    # best pipeline round over the best bare round would pair figures from different loads).
    shares = [p / b for p, b in zip(pipeline, bare, strict=True)]
    cpu_shares = [p / b for p, b in zip(pipeline_cpu, bare_cpu, strict=True)]
    share, share_low, share_high = median_and_range(shares)
    cpu_share, cpu_share_low, cpu_share_high = median_and_range(cpu_shares)
    return {
        "files": len(files),
        "chunks": chunks,
        "rounds": rounds,
        "pipeline_chunks_per_s": median_and_range(pipeline, 2)[0],
        "bare_encode_chunks_per_s": median_and_range(bare, 2)[0],
        "pipeline_share_of_bare": share,
        "pipeline_share_of_bare_range": [share_low, share_high],
        "pipeline_chunks_per_cpu_s": median_and_range(pipeline_cpu, 2)[0],
        "bare_encode_chunks_per_cpu_s": median_and_range(bare_cpu, 2)[0],
        "pipeline_share_of_bare_cpu": cpu_share,
        "pipeline_share_of_bare_cpu_range": [cpu_share_low, cpu_share_high],
        # The steadiest figure on a shared machine: of the pipeline's wall time, the share
        # spent inside the model (1 - this = what the pipeline around it costs).
        "pipeline_time_in_model": median_and_range(in_model)[0],
        "all_rounds": {
            "pipeline": [round(x, 2) for x in pipeline],
            "bare": [round(x, 2) for x in bare],
            "share": [round(x, 3) for x in shares],
            "pipeline_cpu": [round(x, 2) for x in pipeline_cpu],
            "bare_cpu": [round(x, 2) for x in bare_cpu],
            "cpu_share": [round(x, 3) for x in cpu_shares],
            "time_in_model": [round(x, 3) for x in in_model],
        },
    }


# -- 2. search ----------------------------------------------------------------------------
def synthetic_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors near a 32-dimensional subspace, in 1,000 topics (like embeddings)."""
    latent_dim, topics = 32, 1000
    basis = rng.standard_normal((latent_dim, DIMENSION)).astype(np.float32)
    centres = rng.standard_normal((topics, latent_dim)).astype(np.float32)
    latent = centres[rng.integers(0, topics, count)] + 0.6 * rng.standard_normal((count, latent_dim)).astype(
        np.float32
    )
    vectors = latent @ basis + 0.5 * rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# German-looking vocabulary: the words and their two-word compounds ("wartungsvertrag"),
# drawn with Zipf-like frequencies, so that common words match much and rare ones little.
VOCABULARY = np.array(WORDS + [first + second for first in WORDS for second in WORDS if first != second])
_FREQUENCY = 1.0 / (np.arange(len(VOCABULARY)) + 10.0)
FREQUENCY = _FREQUENCY / _FREQUENCY.sum()


def synthetic_words(rng: np.random.Generator, count: int) -> list[str]:
    return [str(word) for word in rng.choice(VOCABULARY, size=count, p=FREQUENCY)]


def synthetic_text(rng: np.random.Generator) -> str:
    return " ".join(synthetic_words(rng, int(rng.integers(40, 120)))) + "."


def build_store(
    directory: Path, count: int, rng: np.random.Generator
) -> tuple[EmbeddedStore, np.ndarray, np.ndarray]:
    vectors = synthetic_vectors(count, rng)
    hidden = np.zeros(count, dtype=bool)
    store = EmbeddedStore(directory, DIMENSION)
    per_document = 1000
    for start in range(0, count, per_document):
        end = min(start + per_document, count)
        secret = (start // per_document) % 2 == 1  # every other document: half the chunks
        hidden[start:end] = secret
        chunks = [StoredChunk(i, synthetic_text(rng)) for i in range(end - start)]
        store.replace_document(
            f"doc{start // per_document}",
            f"doc{start // per_document}.txt",
            chunks,
            vectors[start:end],
            ("hr-secret",) if secret else (),
        )
    return store, vectors, hidden


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000, q))


def exact_lexical(store: EmbeddedStore, text: str, depth: int, labelsets: list[int]) -> list[int]:
    """Positions of the `depth` best allowed chunks by FTS5's own bm25() over every match
    of the whole query: every meaningful word, each of 4+ letters as a prefix
    (`lexical_query` without document frequencies prunes nothing), no postings budget."""
    match = lexical_query(text)
    if not match:
        return []
    rows = store._db.execute(
        "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,)
    ).fetchall()
    allowed = set(labelsets)
    visible = [(rank, pos) for pos, rank in rows if store._position_labelset[pos] in allowed]
    return [pos for _, pos in sorted(visible)[:depth]]  # bm25() is negative: lower is better


def exact_hybrid(
    store: EmbeddedStore, text: str, vector: np.ndarray, k: int, labelsets: list[int]
) -> tuple[set[str], list[int]]:
    """Chunk ids of the k best of an exact, unpruned hybrid search — the exact dense scan and
    `exact_lexical`, fused as the store fuses — and the exact lexical ranking's positions."""
    depth = max(4 * k, 20)
    lexical = exact_lexical(store, text, depth, labelsets)
    dense = [pos for pos, _ in store.dense_search(vector, depth, labelsets, exact=True)]
    fused: dict[int, float] = {}
    for ranking in (dense, lexical):
        for rank, pos in enumerate(ranking, start=1):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (store_module.RRF_K + rank)
    chosen = sorted(fused, key=lambda pos: (-fused[pos], pos))[:k]
    if not chosen:
        return set(), lexical
    found = store._db.execute(
        f"SELECT chunk_id FROM chunks WHERE pos IN ({','.join('?' * len(chosen))})", chosen
    )
    return {row[0] for row in found}, lexical


def bench_search(count: int, queries: int, rng: np.random.Generator) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dirigent-bench-") as tmp:
        started = time.perf_counter()
        store, vectors, hidden = build_store(Path(tmp) / "store", count, rng)
        build_s = time.perf_counter() - started
        allowed = np.flatnonzero(~hidden)
        labelsets = store.allowed_labelsets(set())
        picks = rng.choice(allowed, size=queries)
        noise = 0.05 * rng.standard_normal((queries, DIMENSION)).astype(np.float32)
        query_vectors = vectors[picks] + noise
        query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
        # Warm-up (bitmap cache, page cache).
        for vector in query_vectors[:5]:
            store.dense_search(vector, 10, labelsets)
        # Timed searches first, checked afterwards: the exact references run numpy's and
        # faiss's thread pools, whose spinning threads would slow the next timed search.
        dense_times, hybrid_times, hybrid_cpu, answers = [], [], [], []
        for vector in query_vectors:
            began = time.perf_counter()
            found = store.dense_search(vector, 10, labelsets)
            dense_times.append(time.perf_counter() - began)
            text = " ".join(synthetic_words(rng, 5))
            began, began_cpu = time.perf_counter(), time.thread_time()
            hits = store.search(text, vector, 10, set())
            hybrid_cpu.append(time.thread_time() - began_cpu)
            hybrid_times.append(time.perf_counter() - began)
            answers.append((vector, found, text, hits))
        recalls, hybrid_recalls, lexical_recalls, inexact = [], [], [], 0
        for vector, found, text, hits in answers:
            exact = allowed[np.argsort(-(vectors[allowed] @ vector))[:10]]
            recalls.append(len({pos for pos, _ in found} & set(exact.tolist())) / 10)
            assert not any(hidden[pos] for pos, _ in found), "a hidden chunk was returned"
            reference, reference_lexical = exact_hybrid(store, text, vector, 10, labelsets)
            hybrid_recalls.append(len({hit.chunk_id for hit in hits} & reference) / max(len(reference), 1))
            plan = store.lexical_plan(text, 10, labelsets)
            inexact += not plan.exact
            best_lexical = set(reference_lexical[:10])
            lexical_hits = {pos for pos, _ in plan.hits}
            lexical_recalls.append(len(lexical_hits & best_lexical) / max(len(best_lexical), 1))
        path = "exact scan" if len(allowed) <= store_module.EXACT_SCAN_BELOW else "HNSW + bitmap"
        store.close()
    return {
        "chunks": count,
        "hidden_share": round(float(hidden.mean()), 3),
        "queries": queries,
        "dense_path": path,
        "build_s": round(build_s, 1),
        "dense_p50_ms": round(percentile(dense_times, 50), 3),
        "dense_p99_ms": round(percentile(dense_times, 99), 3),
        "hybrid_p50_ms": round(percentile(hybrid_times, 50), 3),
        "hybrid_p99_ms": round(percentile(hybrid_times, 99), 3),
        "hybrid_cpu_p50_ms": round(percentile(hybrid_cpu, 50), 3),
        "dense_recall_at_10": round(float(np.mean(recalls)), 4),
        "hybrid_recall_at_10": round(float(np.mean(hybrid_recalls)), 4),
        "lexical_recall_at_10": round(float(np.mean(lexical_recalls)), 4),
        "budget_cut_share": round(inexact / queries, 3),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer chunks and queries (rougher figures)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default=None, help="comma-separated store sizes (default 10000,100000)")
    parser.add_argument("--skip-ingestion", action="store_true")
    parser.add_argument(
        "--exact-below",
        type=int,
        default=None,
        help="scan exactly below this many allowed chunks (default: the store's setting)",
    )
    parser.add_argument(
        "--no-postings-cache",
        action="store_true",
        help="read every phrase's postings from FTS5 (no repeated word is served from memory)",
    )
    parser.add_argument(
        "--common-word-share",
        type=float,
        default=None,
        help="leave out query words in more than this share of the chunks (default: the search's "
        "setting; 1.0: none left out)",
    )
    parser.add_argument(
        "--prefix-word-share",
        type=float,
        default=None,
        help="match words as prefixes only when in at most this share of the chunks (default: the "
        "search's setting; 1.0: every word of 4+ letters)",
    )
    args = parser.parse_args()
    if args.common_word_share is not None:
        lexical_module.COMMON_WORD_SHARE = args.common_word_share
    if args.prefix_word_share is not None:
        lexical_module.PREFIX_WORD_SHARE = args.prefix_word_share
    if args.no_postings_cache:
        bm25_module.SCORED_CACHE_BYTES = 0
    if args.exact_below is not None:
        store_module.EXACT_SCAN_BELOW = args.exact_below
    logging.disable(logging.WARNING)
    sizes = (
        [int(x) for x in args.sizes.split(",")]
        if args.sizes
        else ([10_000, 30_000] if args.quick else [10_000, 100_000])
    )
    rng = np.random.default_rng(7)
    result: dict[str, Any] = {"cpu_count": os.cpu_count()}
    if not args.skip_ingestion:
        rounds = 2 if args.quick else 3
        result["ingestion"] = [
            {"documents": "short", **bench_ingestion(copies=2 if args.quick else 6, rounds=rounds)},
            {"documents": "long", **bench_ingestion(copies=1 if args.quick else 2, rounds=rounds, long=True)},
        ]
    result["search"] = [bench_search(size, 100 if args.quick else 300, rng) for size in sizes]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for ing in result.get("ingestion", []):
        print(
            f"ingestion, {ing['documents']} documents: {ing['files']} files, {ing['chunks']} chunks, "
            f"median of {ing['rounds']} rounds"
        )
        print(
            f"  pipeline (spool, job, extract, chunk, embed, store, DB, audit): "
            f"{ing['pipeline_chunks_per_s']:.1f} chunks/s"
        )
        print(
            "  bare SentenceTransformer.encode, same chunks and batch size: "
            f"{ing['bare_encode_chunks_per_s']:.1f} chunks/s"
        )
        low, high = ing["pipeline_share_of_bare_range"]
        rounds_text = ", ".join(f"{x * 100:.0f}" for x in ing["all_rounds"]["share"])
        print(
            f"  pipeline / bare, per round: median {ing['pipeline_share_of_bare'] * 100:.1f} % "
            f"(range {low * 100:.1f}-{high * 100:.1f}; rounds {rounds_text})  (goal >= 90 %)"
        )
        print(f"  of the pipeline's time, inside the model: {ing['pipeline_time_in_model'] * 100:.1f} %")
        cpu_share = ing["pipeline_share_of_bare_cpu"] * 100
        cpu_low, cpu_high = ing["pipeline_share_of_bare_cpu_range"]
        print(
            f"  per CPU second: pipeline {ing['pipeline_chunks_per_cpu_s']:.1f}, bare "
            f"{ing['bare_encode_chunks_per_cpu_s']:.1f} chunks (medians); "
            f"per round: median {cpu_share:.1f} % "
            f"(range {cpu_low * 100:.1f}-{cpu_high * 100:.1f})"
        )
    print(
        "search (half the chunks hidden by an access label; k = 10; recall against the exact, "
        "unpruned search; cut = queries whose postings budget left phrases out):"
    )
    print(
        f"  {'chunks':>8} {'path':>14} {'dense p50':>10} {'dense p99':>10} {'hybrid p50':>11} "
        f"{'hybrid p99':>11} {'(CPU p50)':>10} {'recall@10':>10} {'hybrid r@10':>12} {'lexical r@10':>13} "
        f"{'cut':>5} {'build':>8} {'load':>5}"
    )
    for row in result["search"]:
        print(
            f"  {row['chunks']:>8} {row['dense_path']:>14} {row['dense_p50_ms']:>8.2f}ms "
            f"{row['dense_p99_ms']:>8.2f}ms {row['hybrid_p50_ms']:>9.2f}ms {row['hybrid_p99_ms']:>9.2f}ms "
            f"{row['hybrid_cpu_p50_ms']:>8.2f}ms {row['dense_recall_at_10']:>10.3f} "
            f"{row['hybrid_recall_at_10']:>12.3f} {row['lexical_recall_at_10']:>13.3f} "
            f"{row['budget_cut_share'] * 100:>4.0f}% {row['build_s']:>7.1f}s {row['load_average']:>5.2f}"
        )


if __name__ == "__main__":
    main()
