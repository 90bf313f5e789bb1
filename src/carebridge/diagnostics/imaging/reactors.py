"""pynetdicom's two reactor loops of an accepted association, waking on work instead of every 1 ms.

pynetdicom 3.0 serves an association with two threads that poll: the DUL thread (socket in, PDUs
out) and the association thread (complete DIMSE messages to the handlers), each sleeping 1 ms
whenever a pass found nothing to do. A C-STORE waits in up to three such sleeps (the message for
the association loop, the response for the DUL loop, the next request for the DUL loop again), and
while a handler works both loops wake a thousand times a second to look again, taking the CPU the
handler needs (docs/benchmarks.md: ~1.5-2 ms of CPU per stored object on a loaded machine).

`make_event_driven(assoc)` (from EVT_CONN_OPEN, before either thread starts) keeps pynetdicom's loops
as they are but replaces the sleeps by waits that end as soon as there is work: the DUL waits in
select() on its socket and a wake-up socket written whenever a primitive is queued for it; the
association loop waits on an Event set when a DIMSE message or a primitive for the user is queued,
or the DUL ends. Both still wake every TICK to look at their timers (ARTIM, network idle), which
are seconds long. The loops below are pynetdicom 3.0.4's (MIT licence) with only the waits changed;
another pynetdicom version keeps its own loops (`SUPPORTED`). It also reads PDUs with recv_into
into one buffer instead of 4 KiB recv() calls appended to a bytearray."""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import pynetdicom
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.utils import make_target

log = logging.getLogger(__name__)
LOGGER = logging.getLogger("pynetdicom.dul")  # where pynetdicom's own loop logs
SUPPORTED = pynetdicom.__version__.startswith("3.0.")
TICK = 0.02  # seconds: how late a timer (ARTIM, idle) or the end of the other thread may be noticed


class _Wakeup:
    """A socket pair: the DUL's select() returns when the other end is written. Socket objects, not
    bare descriptors: a write after close fails on the object instead of reaching whatever file
    reused the descriptor's number."""

    def __init__(self) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def set(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is already pending) or closed
            self._write.send(b"\0")

    def wait(self, association_socket: Any) -> None:
        raw = getattr(association_socket, "socket", None)
        watched = [self._read]
        if raw is not None and raw.fileno() >= 0:
            if isinstance(raw, ssl.SSLSocket) and raw.pending():
                return  # decrypted bytes already buffered: select() cannot see them
            watched.append(raw)
        try:
            select.select(watched, [], [], TICK)
        except (OSError, ValueError):  # the socket closed under us: the loop notices and ends
            time.sleep(0.001)
        with contextlib.suppress(OSError):
            while self._read.recv(4096):
                pass

    def close(self) -> None:
        self._read.close()
        self._write.close()


class _SignallingQueue(queue.Queue):
    def __init__(self, signal: Callable[[], None]) -> None:
        super().__init__()
        self._signal = signal

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._signal()


def make_event_driven(assoc: Any) -> None:
    """For an acceptor association whose threads have not started (EVT_CONN_OPEN)."""
    if not SUPPORTED or assoc.dul.is_alive() or assoc.is_alive():
        return
    dul, work, wakeup = assoc.dul, threading.Event(), _Wakeup()
    # Both queues are empty until the threads run.
    dul.to_user_queue = _SignallingQueue(work.set)
    assoc.dimse.msg_queue = _SignallingQueue(work.set)
    send_pdu = dul.send_pdu

    def send_and_wake(primitive: Any) -> None:
        send_pdu(primitive)
        wakeup.set()

    def kill_and_wake() -> None:
        dul._kill_thread = True
        wakeup.set()

    def stop_and_wake() -> bool:
        if dul.state_machine.current_state != "Sta1":
            return False
        kill_and_wake()
        while dul.is_alive():
            time.sleep(0.001)
        return True

    dul.send_pdu, dul.kill_dul, dul.stop_dul = send_and_wake, kill_and_wake, stop_and_wake
    dul._target = make_target(lambda: _dul_reactor(dul, wakeup, work))
    assoc._run_reactor = lambda: _association_reactor(assoc, work)
    if dul.socket is not None:
        dul.socket.recv = _receiver(dul.socket)


FIRST_BUFFER = 1 << 20  # bytes; a PDU's length is the peer's word: memory follows the bytes that arrive


def _receiver(association_socket: Any) -> Callable[[int], bytearray]:
    def recv(nr_bytes: int) -> bytearray:
        """AssociationSocket.recv: `nr_bytes` bytes, fewer when the peer closed the connection."""
        buffer = bytearray(min(nr_bytes, FIRST_BUFFER))
        got = 0
        while got < nr_bytes:
            if got == len(buffer):  # doubled, at most to what was declared: never more than twice what came
                buffer.extend(bytes(min(len(buffer), nr_bytes - got)))
            with memoryview(buffer) as view:
                n = association_socket.socket.recv_into(view[got:], len(buffer) - got)
            if not n:
                break
            got += n
        if got < len(buffer):
            del buffer[got:]
        return buffer

    return recv


def _dul_reactor(dul: Any, wakeup: _Wakeup, work: threading.Event) -> None:
    """DULServiceProvider.run_reactor, waiting on the socket and the wake-up instead of sleeping."""
    dul._idle_timer.start()
    idle = False
    try:
        while True:
            if not dul.assoc._dul_ready.is_set():
                dul.assoc._dul_ready.set()
                idle = True
            if idle:
                wakeup.wait(dul.socket)
            if dul._kill_thread:
                break
            if dul.artim_timer.expired:
                dul.event_queue.put("Evt18")
            try:
                if dul._process_recv_primitive():
                    pass
                elif dul._is_transport_event():
                    dul._idle_timer.restart()
            except Exception as exc:  # noqa: BLE001 - as pynetdicom: abort rather than die silently
                LOGGER.error("Exception in DUL.run(), aborting association")
                LOGGER.exception(exc)
                abort_pdu = A_ABORT_RQ()
                abort_pdu.source, abort_pdu.reason_diagnostic = 0x02, 0x00
                dul.socket.send(abort_pdu.encode())
                dul.assoc.is_aborted = True
                dul.assoc.is_established = False
                dul.assoc._kill = True
                dul._kill_thread = True
                return
            try:
                event = dul.event_queue.get(block=False)
            except queue.Empty:
                idle = True
                continue
            dul.state_machine.do_action(event)
            idle = False
    finally:
        wakeup.close()
        work.set()  # the association loop checks at once whether the DUL is still alive


def _association_reactor(assoc: Any, work: threading.Event) -> None:
    """Association._run_reactor (acceptor), waiting on `work` instead of sleeping 1 ms a pass."""
    assoc._is_paused = False
    while not assoc._kill:
        work.wait(TICK)
        work.clear()  # before looking, so work queued while we look wakes the next wait
        assoc._is_paused = True
        assoc._reactor_checkpoint.wait()
        assoc._is_paused = False
        context_id, msg = assoc.dimse.get_msg(block=False)
        if msg:
            assoc._serve_request(msg, context_id)
            work.set()  # another message may be queued behind it
        if assoc.is_established and assoc.acse.is_release_requested():
            assoc.acse.send_release(is_response=True)
            log.debug("Association released")
            assoc.is_released = True
            assoc.is_established = False
            pynetdicom.evt.trigger(assoc, pynetdicom.evt.EVT_RELEASED, {})
            assoc.kill()
            return
        if assoc.acse.is_aborted():
            assoc.dul.receive_pdu(wait=False)  # so that EVT_ACSE_RECV fires for subscribers
            assoc.is_aborted = True
            assoc.is_established = False
            pynetdicom.evt.trigger(assoc, pynetdicom.evt.EVT_ABORTED, {})
            assoc.kill()
            return
        if not assoc.dul.is_alive():
            assoc.kill()
            return
        if assoc.dul.idle_timer_expired():
            log.error("DICOM network timeout reached")
            if assoc.network_timeout_response == "A-RELEASE":
                assoc._is_paused = True
                assoc._reactor_checkpoint.wait()
                assoc.release()
                assoc._is_paused = False
            else:
                assoc.abort()
            assoc.kill()
            return
