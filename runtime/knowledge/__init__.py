"""Knowledge: document ingestion and retrieval, filtered by what the caller may read.

controller.py     HTTP: indexes, uploads (→ jobs), jobs, documents, search
service.py        indexes, documents, search and the `retrieval` node's `retrieve()`;
                  every access decision through the policy (`KnowledgeIndex`,
                  `readable_labels`)
jobs.py           ingestion jobs: spool → extract → chunk → embed → store, per file,
                  progress in the database, resumed after a restart
scheduler.py      which job runs next and where: claimed from the database
                  (compare-and-set, heartbeats), fair across workspaces
limits.py         what one file may cost (IngestLimits, DIRIGENT_KNOWLEDGE_LIMIT_*)
extraction_pool.py  extraction and chunking in reused worker processes with
                  RLIMIT_CPU / RLIMIT_AS (extraction_worker.py is the child)
uploads.py        multipart uploads streamed to disk with a per-file size limit
extract.py        text out of PDF, DOCX, TXT, Markdown, HTML and e-mail files
bounds.py         cheap scans of a file's structure before its parser runs
chunking.py       German-aware sentence splitting and chunking with overlap
embedding.py      the sentence-transformers model, loaded offline
backends.py       the backend protocol and the embedded backend
store.py          the embedded store: SQLite (chunks, FTS5) + faiss HNSW, hybrid (RRF)
lexical.py        lexical queries: German stopwords, folding, frequency pruning
bm25.py           the lexical ranking: BM25 from the FTS5 postings, rarest phrases first
marqo_backend.py  Marqo through the `marqo` client
models.py         ORM models (migrations 0002_knowledge, 0011_ingest_bounds)
errors.py         the error tree of this package
"""
