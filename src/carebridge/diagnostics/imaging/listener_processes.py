"""`carebridge dicom`: the DICOM listener in one process per core, all accepting on one socket.

One Python process runs one thread at a time: with several associations at once (modalities of a
busy site, a PACS sending in parallel) a single listener process is held to one core while the
rest of the machine idles. So the process that `carebridge dicom` starts binds the port (an error
when it is taken, as before), then starts `CAREBRIDGE_DICOM_LISTENER_PROCESSES - 1` workers that
inherit the listening socket, and every process accepts associations from it. Each association is
served whole by the process that accepted it. A process busy with associations waits a moment
before accepting (`ACCEPT_DELAY` per association it serves), so an idle one takes the connection.

The workers die with the process that started them (PR_SET_PDEATHSIG, SIGKILL: as if the listener
as a whole had been killed; nothing unacknowledged was promised) and it stops them with SIGTERM
(they abort their associations, as a single listener does). On SQLite the processes' write
transactions queue on a file lock (sqlite_inline.py)."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from pynetdicom.transport import ThreadedAssociationServer

from carebridge.config import Settings

log = logging.getLogger(__name__)
ACCEPT_DELAY = 0.002  # seconds per association this process serves already
BIND_RETRY_SECONDS = 5.0  # a listener restarted at once may find its killed workers still exiting


def process_count(settings: Settings) -> int:
    return settings.dicom_listener_processes or os.cpu_count() or 1


def listening_socket(host: str, port: int, backlog: int = 128) -> socket.socket:
    """Bound and listening, or OSError when the port stays taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + BIND_RETRY_SECONDS
    while True:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT, not another listener
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        sock.listen(backlog)
        return sock


def server_class(listening: socket.socket) -> type[ThreadedAssociationServer]:
    """pynetdicom's threaded server adopting an already listening socket (its own or inherited)."""

    class SharedSocketServer(ThreadedAssociationServer):
        def server_bind(self) -> None:
            self.socket.close()  # the unbound socket TCPServer made
            self.socket = listening
            # Non-blocking accept: when another process took the connection, accept() fails at once
            # (socketserver ignores the OSError) instead of waiting here for the next one.
            self.socket.settimeout(0.0)
            self.server_address = self.socket.getsockname()

        def server_activate(self) -> None:
            pass  # listening already

        def get_request(self) -> tuple[Any, Any]:
            busy = len(self.active_associations)
            if busy:
                time.sleep(ACCEPT_DELAY * busy)  # let an idle process take it
            return super().get_request()

    return SharedSocketServer


def run_listener(settings: Settings, port: int | None = None, listen_fd: int | None = None,
                 ready_fd: int | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly. A worker gets `listen_fd`, its inherited
    socket, and `ready_fd`, where it reports that it accepts."""
    from carebridge.diagnostics.imaging.scp import DicomListener

    ignore_pydicom_reading_checks()
    remember_uid_validity()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    if listen_fd is not None:
        listening, workers = socket.socket(fileno=listen_fd), []
    else:
        listening = listening_socket(settings.dicom_host, settings.dicom_port if port is None else port)
        workers = _start_workers(listening, process_count(settings) - 1)
    listener = DicomListener(settings, processes=process_count(settings))
    listener.start(listening=listening)
    freeze_startup_objects()
    if ready_fd is not None:
        os.write(ready_fd, b"\0")  # the process that started this one waits for every worker
        os.close(ready_fd)
    if listen_fd is None:
        print(f"DICOM listener {settings.dicom_ae_title} at {settings.dicom_host}:{listener.port} "  # noqa: T201
              f"({len(workers) + 1} process{'es' if workers else ''})", flush=True)
    try:
        while not stopping.wait(1.0):
            if any(w.poll() is not None for w in workers):
                log.error("a DICOM listener worker exited; stopping the listener")
                break
    finally:
        listener.stop()
        _stop(workers)


def ignore_pydicom_reading_checks() -> None:
    """pydicom checks each value it reads against the standard, only to warn about it: in this
    process, every UID of every association request (pynetdicom makes a pydicom UID of each, several
    times over) and the header values the listener converts. The listener acts on no such warning:
    parse.py checks what storing relies on itself (and silences them), and a query key only ever
    becomes a bound parameter. So the checks are switched off with pydicom's documented setting;
    every value is read exactly as before."""
    import pydicom.config

    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE


def freeze_startup_objects() -> None:
    """The objects made while the process started (every imported module: SQLAlchemy, pydicom,
    pynetdicom, the models; the listener's 177 presentation contexts) live as long as the process.
    Python's full collections walked all of them again, about 110 ms of CPU each, every few dozen
    one-image associations here. After a collection of what is garbage already, `gc.freeze()` (the
    documented way to leave start-up objects out of later collections) moves them out of the
    collector's sight, and a full collection takes ~8 ms."""
    gc.collect()
    gc.freeze()


def remember_uid_validity() -> None:
    """pynetdicom asks pydicom's `UID.is_valid` of every UID it sets (only to log a warning), some
    1,400 times per association for DCMTK's storescu and its 128 proposed contexts: a regular
    expression each time, a quarter of the interpreter's time in an association's set-up. The
    answer depends on the UID's text alone, and the same few hundred UIDs come in every
    association. So in this process the property remembers pydicom's own answer per UID."""
    from pydicom.uid import UID

    pydicom_answer = UID.is_valid.fget
    if getattr(pydicom_answer, "cache_info", None) is not None:
        return  # remembered already

    @functools.lru_cache(maxsize=4096)
    def answer(text: str) -> bool:
        return pydicom_answer(UID(text))

    def remembered(uid: UID) -> bool:
        return answer(str(uid))

    remembered.cache_info = answer.cache_info  # type: ignore[attr-defined]
    UID.is_valid = property(remembered, doc=UID.is_valid.__doc__)


def _start_workers(listening: socket.socket, count: int) -> list[subprocess.Popen]:
    """Started and accepting before this returns (each writes a byte to its ready pipe once it
    accepts), so the listener answers as a whole and no worker still imports while objects come."""
    import ctypes

    def _die_with_parent() -> None:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    if count < 1:
        return []
    ready_read, ready_write = os.pipe()
    fd = listening.fileno()
    command = [sys.executable, "-m", "carebridge", "dicom", "--no-upgrade", "--listen-fd", str(fd),
               "--ready-fd", str(ready_write)]
    try:
        # preexec_fn only sets the death signal; the command is our own interpreter and module.
        workers = [subprocess.Popen(command, pass_fds=[fd, ready_write],  # noqa: S603
                                    preexec_fn=_die_with_parent) for _ in range(count)]  # noqa: PLW1509
    finally:
        os.close(ready_write)
    try:
        for _ in workers:
            if os.read(ready_read, 1) != b"\0":  # every worker gone before it was ready: end of file
                raise RuntimeError("a DICOM listener worker did not start")
    except BaseException:
        _stop(workers)
        raise
    finally:
        os.close(ready_read)
    return workers


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
