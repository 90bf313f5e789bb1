"""The DICOM listener: C-ECHO, C-STORE, C-FIND, C-MOVE and C-GET over pynetdicom.

pynetdicom serves each association in its own thread. The handlers here are thin: they translate
the DIMSE request, run the async service code on the listener's one event loop (its own thread,
its own database engine and connection pool) and translate the result back. Each C-STORE runs in
its own transaction that is committed before the handler returns the success status, so what a
sender sees acknowledged is on disk (blob fsynced with its directory) and in the index. A handler
never lets an exception reach pynetdicom's thread: bad input becomes a failure status with an
Error Comment naming the problem, a fault on our side 0xA700 (the sender may retry).

Only active peers registered in `dicom_peers` may associate (others are rejected with "calling AE
title not recognised", PS3.8 9.3.4). The peer's facility is the sender of what it stores and the
scope of what it may query and retrieve (query.py)."""

from __future__ import annotations

import asyncio
import functools
import io
import ipaddress
import logging
import socket
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import (
    AE,
    AllStoragePresentationContexts,
    _config,
    build_context,
    evt,
)
from pynetdicom._handlers import (
    standard_dimse_recv_handler,
    standard_dimse_sent_handler,
    standard_pdu_recv_handler,
    standard_pdu_sent_handler,
)
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.config import Settings
from carebridge.db import unit_of_work
from carebridge.diagnostics.imaging import query, store_request, store_response
from carebridge.diagnostics.imaging.association_databases import AssociationDatabases
from carebridge.diagnostics.imaging.known import KnownRows
from carebridge.diagnostics.imaging.listener_processes import server_class
from carebridge.diagnostics.imaging.parse import NATIVE_SYNTAXES, TRANSFER_SYNTAXES, InvalidDicom
from carebridge.diagnostics.imaging.peers import PeerRef, peer_by_ae
from carebridge.diagnostics.imaging.reactors import make_event_driven
from carebridge.diagnostics.imaging.store import Received, index_known, index_received, receive
from carebridge.kit.blobs import BlobStore, LocalBlobStore

log = logging.getLogger(__name__)

SUCCESS, PENDING, CANCELLED = 0x0000, 0xFF00, 0xFE00
OUT_OF_RESOURCES, IDENTIFIER_MISMATCH, UNABLE_TO_PROCESS = 0xA700, 0xA900, 0xC000
QR_MODELS = (PatientRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelFind,
             PatientRootQueryRetrieveInformationModelMove, StudyRootQueryRetrieveInformationModelMove,
             PatientRootQueryRetrieveInformationModelGet, StudyRootQueryRetrieveInformationModelGet)
PEER_ATTRIBUTE = "carebridge_peer"
PYNETDICOM_LOGGING_HANDLERS = ((evt.EVT_DIMSE_RECV, standard_dimse_recv_handler),
                               (evt.EVT_DIMSE_SENT, standard_dimse_sent_handler),
                               (evt.EVT_PDU_RECV, standard_pdu_recv_handler),
                               (evt.EVT_PDU_SENT, standard_pdu_sent_handler))
KNOWN_ATTRIBUTE = "carebridge_known_rows"
CALL_TIMEOUT = 600.0  # seconds one store or query may take before the handler gives up with 0xA700


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]  # (0000,0902) LO
    return status


def remember_uid_checks() -> None:
    """pynetdicom checks every UID of an A-ASSOCIATE-RQ several times while decoding it, turning it
    into a primitive, negotiating and answering: DCMTK's storescu proposes 128 presentation contexts,
    some 580 checks and 7 ms of CPU per association here. The check is a function of the UID alone
    (and of `_config.ENFORCE_UID_CONFORMANCE`, which the listener leaves alone), and `_config.VALIDATORS`
    is pynetdicom's documented place to replace it: the same check, remembered for the UIDs seen."""
    check = _config.VALIDATORS["UI"]
    if not hasattr(check, "cache_info"):  # remembered already (an lru_cache has cache_info)
        _config.VALIDATORS["UI"] = functools.lru_cache(maxsize=4096)(check)


def make_ae(settings: Settings) -> AE:
    remember_uid_checks()
    ae = AE(ae_title=settings.dicom_ae_title)
    ae.maximum_associations = settings.dicom_max_associations
    ae.maximum_pdu_size = 0  # no limit: senders use large PDUs, far fewer reads and reassemblies per object
    ae.network_timeout, ae.acse_timeout, ae.dimse_timeout = 60, 30, 60
    ae.add_supported_context(Verification)
    for context in AllStoragePresentationContexts:
        # scp_role for C-GET: the peer stores back to itself over this association (PS3.7 D.3.3.4).
        ae.add_supported_context(context.abstract_syntax, list(TRANSFER_SYNTAXES), scu_role=True, scp_role=True)
    for model in QR_MODELS:
        ae.add_supported_context(model)
    return ae


class SharedContexts(list):
    """The listener's supported presentation contexts, handed to each association as they are.
    pynetdicom deep-copies them for every association: 41 ms of CPU for our 177 contexts and 2,578
    transfer syntaxes (each UID is validated again), a third of a millisecond per object of a
    125-object association. Acceptor negotiation only reads them (pynetdicom 3.0
    `negotiate_as_acceptor`), so one set serves every association."""

    def __deepcopy__(self, _memo: dict) -> list:
        return list(self)


class DicomListener:
    """One listening AE. `start()` binds and returns at once.

    Each association's thread runs its handlers' coroutines on an event loop of its own, with a
    database engine of its own (taken on the association's first request, kept for the next
    association when it ends: association_databases.py): no hand-over to another thread per object,
    and on SQLite each thread simply waits for the database's write lock like any other writer.
    Tests pass their own `loop` and `sessionmaker`: then every coroutine runs on that loop (in the
    test's transaction)."""

    def __init__(self, settings: Settings, *, sessionmaker: async_sessionmaker | None = None,
                 blobs: BlobStore | None = None, loop: asyncio.AbstractEventLoop | None = None,
                 processes: int = 1) -> None:
        self.settings = settings
        self._shared_loop = loop
        self._shared_sessionmaker = sessionmaker
        # The listener's blob writes run in the association's thread (blobs fsync before returning).
        self.blobs = blobs or ThreadBlobStore(settings.blob_dir)
        self._server = None
        self.ae = make_ae(settings)
        # dicom_max_associations is the listener's in total, shared by its processes.
        self.ae.maximum_associations = max(1, -(-settings.dicom_max_associations // processes))
        self._databases = AssociationDatabases(settings.database_url)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self, port: int | None = None, listening: socket.socket | None = None) -> None:
        """Binds `port` (default from settings), or accepts on `listening`, a socket bound and
        listening already (shared with the listener's other processes: listener_processes.py)."""
        handlers = [(evt.EVT_CONN_OPEN, _on_connect), (evt.EVT_REQUESTED, self._on_requested),
                    (evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_C_FIND, self._on_find), (evt.EVT_C_GET, self._on_get),
                    (evt.EVT_C_MOVE, self._on_move), (evt.EVT_RELEASED, self._on_end),
                    (evt.EVT_ABORTED, self._on_end), (evt.EVT_REJECTED, self._on_end)]
        if listening is None:
            address = (self.settings.dicom_host, self.settings.dicom_port if port is None else port)
            self._server = self.ae.start_server(address, block=False, evt_handlers=handlers)
        else:
            self._server = self.ae.make_server(listening.getsockname()[:2], evt_handlers=handlers,
                                               server_class=server_class(listening))
            self.ae._servers.append(self._server)  # as start_server does: shutdown() takes it out
            threading.Thread(target=self._server.serve_forever, name="DicomAcceptor", daemon=True).start()
        self._server.contexts = SharedContexts(self._server.contexts)
        log.info("DICOM listener %s on %s:%s", self.settings.dicom_ae_title, self.settings.dicom_host, self.port)

    def stop(self) -> None:
        """Stops accepting and aborts open associations (their unacknowledged objects are the
        senders' to resend), then closes what is left of their databases."""
        if self._server is not None:
            self._server.shutdown()
        self._databases.close()

    @property
    def sessionmaker(self) -> async_sessionmaker:
        if self._shared_sessionmaker is not None:
            return self._shared_sessionmaker
        return self._databases.current().sessionmaker

    def _call(self, coro: Coroutine) -> Any:
        if self._shared_loop is not None:
            return asyncio.run_coroutine_threadsafe(coro, self._shared_loop).result(CALL_TIMEOUT)
        return self._databases.current().loop.run_until_complete(coro)

    def _on_end(self, _event: evt.Event) -> None:
        self._databases.release()

    # --- association ------------------------------------------------------------------------

    def _on_requested(self, event: evt.Event) -> None:
        calling = event.assoc.requestor.primitive.calling_ae_title.strip()
        try:
            peer = self._call(self._lookup(calling))
        except Exception:  # noqa: BLE001 - the database is away: refuse for now, transiently
            log.exception("DICOM peer lookup failed for %r", calling)
            _reject(event.assoc, 0x02, 0x01, 0x01)
            return
        if peer is None:
            log.warning("DICOM association from unknown AE title %r (%s) rejected", calling,
                        event.assoc.requestor.address)
            _reject(event.assoc, 0x01, 0x01, 0x03)  # permanent, service user, calling AE not recognised
            return
        if peer.host and not same_host(peer.host, event.assoc.requestor.address):
            # An AE title is a name anyone can type: a registered host must also be where the call comes from.
            log.warning("DICOM association as %r from %s, not its registered host %s: rejected", calling,
                        event.assoc.requestor.address, peer.host)
            _reject(event.assoc, 0x01, 0x01, 0x03)
            return
        setattr(event.assoc, PEER_ATTRIBUTE, peer)
        setattr(event.assoc, KNOWN_ATTRIBUTE, KnownRows())

    async def _lookup(self, ae_title: str) -> PeerRef | None:
        async with self.sessionmaker() as session:
            return await peer_by_ae(session, ae_title)

    @staticmethod
    def _peer(event: evt.Event) -> PeerRef:
        return getattr(event.assoc, PEER_ATTRIBUTE)

    # --- C-STORE ------------------------------------------------------------------------------

    def _on_store(self, event: evt.Event) -> int | Dataset:
        peer = self._peer(event)
        try:
            data, digest = store_request.received_file(event.request, event.context.transfer_syntax)
        except Exception as exc:  # noqa: BLE001 - a meta the peer's request cannot make
            return _status(UNABLE_TO_PROCESS, f"cannot read the request: {exc}")
        try:
            self._call(self._store(peer, data, getattr(event.assoc, KNOWN_ATTRIBUTE), digest))
        except InvalidDicom as refused:
            log.info("C-STORE from %s refused: %s", peer.ae_title, refused.message)
            return _status(refused.dimse_status, refused.message)
        except Exception:  # noqa: BLE001 - our fault, not the sender's: it may retry
            log.exception("C-STORE from %s failed", peer.ae_title)
            return _status(OUT_OF_RESOURCES, "not stored: server error, retry later")
        return SUCCESS

    async def _store(self, peer: PeerRef, data: bytes, known: KnownRows, digest: str | None = None) -> None:
        received = await receive(self.blobs, data, digest=digest)
        if await self._index_known(peer, received, known):
            return
        async with unit_of_work(self.sessionmaker) as session:
            await index_received(session, self.blobs, received, sending_facility_id=peer.facility_id,
                                 hub_facility_id=peer.hub_facility_id, calling_ae=peer.ae_title, source="dimse",
                                 known=known)

    async def _index_known(self, peer: PeerRef, received: Received, known: KnownRows) -> bool:
        """The hot path (known_writer.py) for the next object of a series this association stored
        into; not when tests share their transaction with the listener."""
        parsed = received.parsed
        if self._shared_sessionmaker is not None or known.lookup(parsed.study_uid, parsed.series_uid) is None:
            return False
        database = self._databases.current()
        try:
            writer = await database.known_writer()
            return writer is not None and await index_known(
                writer, received, known, sending_facility_id=peer.facility_id, calling_ae=peer.ae_title) is not None
        except InvalidDicom:
            raise
        except Exception:
            # A connection lost mid-statement fails this C-STORE (the sender retries); the next
            # object gets a fresh connection instead of the dead one.
            await database.drop_known_writer()
            raise

    # --- C-FIND -------------------------------------------------------------------------------

    def _on_find(self, event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        peer = self._peer(event)
        try:
            answers = self._call(self._find(peer, event.identifier, event.assoc.requestor.address))
        except query.QueryError as exc:
            yield _status(IDENTIFIER_MISMATCH, str(exc)), None
            return
        except Exception:  # noqa: BLE001
            log.exception("C-FIND from %s failed", peer.ae_title)
            yield _status(UNABLE_TO_PROCESS, "query failed"), None
            return
        for answer in answers:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, answer

    async def _find(self, peer: PeerRef, identifier: Dataset, ip: str) -> list[Dataset]:
        async with unit_of_work(self.sessionmaker) as session:
            return await query.find(session, peer, identifier, ip)

    # --- C-GET and C-MOVE ---------------------------------------------------------------------

    async def _select(self, peer: PeerRef, identifier: Dataset, ip: str) -> list[query.InstanceRef]:
        async with unit_of_work(self.sessionmaker) as session:
            return await query.instances(session, peer, identifier, ip)

    def _load(self, ref: query.InstanceRef) -> Dataset:
        data = self._call(self.blobs.get(ref.blob_digest))
        return pydicom.dcmread(io.BytesIO(data))

    def _send(self, event: evt.Event, refs: list[query.InstanceRef]) -> Iterator[tuple[int, Dataset | None]]:
        yield len(refs)
        for ref in refs:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, self._load(ref)

    def _on_get(self, event: evt.Event) -> Iterator:
        peer = self._peer(event)
        try:
            refs = self._call(self._select(peer, event.identifier, event.assoc.requestor.address))
        except query.QueryError as exc:
            yield _status(IDENTIFIER_MISMATCH, str(exc)), None
            return
        yield from self._send(event, refs)

    def _on_move(self, event: evt.Event) -> Iterator:
        peer = self._peer(event)
        wanted = event.move_destination
        wanted = (wanted.decode(errors="replace") if isinstance(wanted, bytes) else str(wanted)).strip()
        destination = self._call(self._destination(peer, wanted))
        if destination is None:
            yield None, None  # pynetdicom answers 0xA801, move destination unknown
            return
        refs = self._call(self._select(peer, event.identifier, event.assoc.requestor.address))
        yield destination.host, destination.port, {"contexts": move_contexts(refs)}
        yield from self._send(event, refs)

    async def _destination(self, peer: PeerRef, ae_title: str) -> PeerRef | None:
        """Only a peer of the caller's own facility, with an address, may receive a C-MOVE: a site
        cannot send its patients' images to another site's equipment."""
        found = await self._lookup(ae_title)
        if found is None or found.facility_id != peer.facility_id or not found.host or not found.port:
            return None
        return found


class ThreadBlobStore(LocalBlobStore):
    """Writes in the calling thread: each association has a thread (and loop) of its own, so
    handing the write to yet another thread would only add two thread switches per object."""

    async def put(self, data: bytes) -> str:
        return self._put(data)

    async def put_hashed(self, data: bytes, digest: str) -> str:
        self._write_once(self._path(digest), data)
        return digest


def _on_connect(event: evt.Event) -> None:
    make_event_driven(event.assoc)  # before its threads start: reactors.py
    store_response.install(event.assoc)
    if not logging.getLogger("pynetdicom").isEnabledFor(logging.INFO):
        # pynetdicom's logging handlers format every PDU and message (~0.5 ms per stored object) even
        # when nothing is logged; they stay when pynetdicom's log is on.
        for notification, handler in PYNETDICOM_LOGGING_HANDLERS:
            event.assoc.unbind(notification, handler)
    store_request.install(event.assoc)


def same_host(registered: str, address: str) -> bool:
    """The caller's address is the registered host, given as an address or a name that resolves to it."""
    try:
        caller = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    try:
        return ipaddress.ip_address(registered) == caller
    except ValueError:
        pass
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(registered, None)}
    except OSError:
        return False
    return any(ipaddress.ip_address(a.split("%")[0]) == caller for a in resolved)


def _reject(assoc: Any, result: int, source: int, diagnostic: int) -> None:
    """As pynetdicom rejects by itself: send A-ASSOCIATE-RJ, then wait (kill) until the DUL has
    delivered it, or the socket closes first and the peer sees only an abort."""
    assoc.acse.send_reject(result, source, diagnostic)
    evt.trigger(assoc, evt.EVT_REJECTED, {})
    assoc.kill()


def move_contexts(refs: list[query.InstanceRef]) -> list:
    """At most 128 presentation contexts for the sub-association (PS3.8 9.3.2.2): one per SOP class,
    offering the stored syntax and, for native data, both little-endian encodings."""
    syntaxes: dict[str, set[str]] = {}
    for ref in refs:
        offered = syntaxes.setdefault(ref.sop_class_uid, set())
        offered.add(ref.transfer_syntax_uid)
        if ref.transfer_syntax_uid in NATIVE_SYNTAXES:
            offered.update(("1.2.840.10008.1.2.1", "1.2.840.10008.1.2"))
    return [build_context(uid, sorted(ts)) for uid, ts in list(syntaxes.items())[:128]]
