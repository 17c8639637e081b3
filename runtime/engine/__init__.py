"""The flow engine: compiles a validated version once, then executes it run by run."""
