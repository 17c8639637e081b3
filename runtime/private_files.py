"""Files only the runtime's own user may read: the data dir 0700, what is in it 0600.

The data dir holds run data, password hashes, restricted passages and keys; another local
user must not read any of it. The places that create files call these helpers (the
database, its WAL and shared-memory files, index files, uploads, key files), and the
`dirigent` command sets the umask 0077 for whatever else its processes write.

SQLite gives a database's `-wal` and `-shm` files the permissions of the database file,
so creating the database 0600 before SQLite opens it is enough for all three.

An existing data dir or file with wider permissions (made by an older version) is
narrowed when the runtime starts on it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
PROCESS_UMASK = 0o077
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_directory(path: Path | str) -> Path:
    """`path` created if missing, and readable by its owner only; missing parents are
    created 0700 as well (`mkdir -p` would make them 0755)."""
    directory = Path(path)
    missing = [directory, *(parent for parent in directory.parents)]
    missing = [place for place in missing if not place.exists()]
    for place in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            place.mkdir(mode=DIRECTORY_MODE)
        _narrow(place, DIRECTORY_MODE)
    _narrow(directory, DIRECTORY_MODE)
    return directory


def private_file(path: Path | str) -> Path:
    """`path` created empty if missing (never truncated), readable by its owner only."""
    file = Path(path)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _narrow(file, FILE_MODE)
    return file


def private_sqlite(path: Path | str) -> Path:
    """A SQLite database file (and its WAL/SHM files, where present) 0600, the file
    created first if missing, so that SQLite creates the others with the same mode."""
    database = private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            _narrow(companion, FILE_MODE)
    return database


def write_private(path: Path | str, content: bytes) -> None:
    """Write `content` to a new file that is 0600 from its first byte."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    _narrow(Path(path), FILE_MODE)


def create_once(path: Path | str, content: bytes) -> bytes:
    """Create `path` 0600 holding `content`, unless it exists; what the file holds after.

    Two processes starting at once must not each write a key of their own: the content is
    written to a temporary file, which is then linked to `path` (atomic, and it fails when
    `path` exists, in which case the winner's complete content is read).
    """
    target = Path(path)
    private_directory(target.parent)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    write_private(temporary, content)
    try:
        os.link(temporary, target)
    except FileExistsError:
        return target.read_bytes()
    finally:
        temporary.unlink(missing_ok=True)
    return content


def _narrow(path: Path, mode: int) -> None:
    """chmod to `mode` unless it is there already; a file of another user is left alone
    (chmod would fail: e.g. a data dir mounted in from outside)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_mode & 0o777 != mode and status.st_uid == os.geteuid():
        os.chmod(path, mode)
