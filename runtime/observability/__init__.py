"""Operations' view of a runtime: Prometheus metrics (`/metrics`) and OpenTelemetry traces.

    metrics.py   what each process counts and times (runs, nodes, LLM calls, connector
                 calls, HTTP requests); Prometheus sums the processes
    state.py     gauges of shared state (approvals waiting, runs waiting, the ingestion
                 queue), read from the database at scrape time, so every process reports
                 the same truth
    endpoint.py  the `/metrics` route (protected: `DIRIGENT_METRICS_TOKEN`, or loopback
                 clients only) and the middleware that times HTTP requests
    tracing.py   spans per HTTP request, run, node, LLM call and connector call, exported
                 over OTLP/HTTP when `DIRIGENT_OTLP_ENDPOINT` (or
                 `OTEL_EXPORTER_OTLP_ENDPOINT`) is set; off (and not imported) otherwise

Labels never carry personal data or inputs: assistant and workspace slugs, node types,
endpoint names, connection kinds, route templates and outcomes — all bounded sets.
"""
