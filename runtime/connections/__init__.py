"""Connections: how flows act on company systems (HTTP/REST, e-mail, SQL, webhooks) — safely.

    secrets.py    SecretBox: Fernet encryption of connection secrets at rest, key handling
    egress.py     EgressGuard: every outbound address resolved once, checked, then connected to
    kinds.py      the settings of each kind (http, email, sql, webhook), validated on save
    http.py       HTTP calls: allowed methods/paths, auth, retries, size limit, idempotency key
    email.py      SMTP sends (STARTTLS/SSL, auth) to allowed domains only
    sql.py        read-only queries with bound parameters, row limit, timeout
    models.py     ORM rows: connections, the outbound-call journal, triggers
    calls.py      what flows do: call a connection, journal side effects, audit each call
    service.py    ConnectionService: CRUD and tests through the policy (and the calls)
    controller.py the HTTP API (also of triggers: inbound webhooks, HMAC-SHA256 +
                  timestamp, and cron schedules, which start runs and so live in
                  `runtime.runs.triggers`)

Configuration (environment):

    DIRIGENT_SECRET_KEY           Fernet key for secrets at rest; default: `secret.key` in the
                                  data dir, created 0600 on first start (back it up: without
                                  it, stored secrets must be entered again)
    DIRIGENT_EGRESS_ALLOW         comma-separated IPs, CIDRs and host names that connections may
                                  reach although they are internal (e.g. `10.20.0.0/16,crm.intern`)
    DIRIGENT_SCHEDULE_INTERVAL_S  how often each runtime process looks for due schedules (1 s)

Nothing in here logs, stores in a run, or audits a secret: secrets leave the `SecretBox`
only to be put on the wire, and answers are scrubbed of them before they are stored.
"""
