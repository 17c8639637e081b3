"""Ids (`runtime.db.models.new_id`): 32 hex digits from os.urandom, drawn in batches."""

from __future__ import annotations

import os

from runtime.db.models import new_id


def test_ids_are_32_hex_digits_and_unique() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in ids)


def test_a_forked_child_does_not_reuse_the_parents_batch() -> None:
    new_id()  # the parent holds a batch
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read, 32).decode()
    os.close(read)
    os.close(write)
    assert from_child != new_id()
