"""Feedback on answers: a person rates a run they started (thumbs up or down, with an
optional correction on a thumbs down); one feedback per run and person, a new one
replaces the old. Monitoring (`runtime.monitoring`) counts it per assistant and role."""
