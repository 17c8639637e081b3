"""Monitoring: how the assistants of a workspace are used, per assistant and per role of
the people who invoke them (`GET /api/monitoring`, shaped for the studio's charts)."""
