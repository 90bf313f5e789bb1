"""The listener's association databases: an ended association's database serves the next one, at
most `keep` wait idle, and stopping the listener closes every one (association_databases.py; a lost
PostgreSQL connection between associations: test_known_writer.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from carebridge.diagnostics.imaging.association_databases import AssociationDatabase, AssociationDatabases


def _in_threads(count: int, association: Callable[[threading.Barrier], None]) -> None:
    """`count` associations at once, each in a thread of its own as pynetdicom serves them."""
    barrier = threading.Barrier(count)
    threads = [threading.Thread(target=association, args=(barrier,)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_the_next_association_takes_the_database_the_last_one_left(tmp_path) -> None:  # noqa: ANN001
    databases = AssociationDatabases(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}", keep=1)
    used: list[AssociationDatabase] = []
    asked_again: list[AssociationDatabase] = []

    def association(_barrier: threading.Barrier) -> None:
        used.append(databases.current())
        asked_again.append(databases.current())
        databases.release()

    for _ in range(3):
        _in_threads(1, association)
    assert asked_again == used  # one database for the whole association
    assert used[0] is used[1] is used[2]
    databases.close()
    assert used[0].loop.is_closed()


def test_at_most_keep_wait_idle_and_closing_ends_them_all(tmp_path) -> None:  # noqa: ANN001
    databases = AssociationDatabases(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}", keep=2)
    used: list[AssociationDatabase] = []
    lock = threading.Lock()

    def association(barrier: threading.Barrier) -> None:
        database = databases.current()
        with lock:
            used.append(database)
        barrier.wait(timeout=10)  # all three open at once: three databases
        databases.release()

    _in_threads(3, association)
    assert len({id(database) for database in used}) == 3
    assert sum(database.loop.is_closed() for database in used) == 1  # the third one ended had no room
    databases.close()
    assert all(database.loop.is_closed() for database in used)
