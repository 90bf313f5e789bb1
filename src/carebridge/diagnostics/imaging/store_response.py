"""The C-STORE response of an accepted association, encoded without building a pydicom Dataset.

pynetdicom turns every response primitive into a command-set Dataset (about a hundred attribute
assignments, each validated), encodes it once to learn the group length and again to send it: in a
profile of the listener, a quarter of the association thread's time per stored object. A C-STORE response is a
handful of fixed elements (PS3.7 9.3.1.2, Table 9.3-2), so `install(assoc)` (from EVT_CONN_OPEN)
wraps the association's `dimse.send_msg` to write that one in Implicit VR Little Endian (PS3.7 6.3.1)
and send it as a single last command fragment, byte for byte what pynetdicom sends (tested). Every
other message, a response carrying more than Status and Error Comment, a command set larger than the
peer's maximum PDU, and any association while pynetdicom's debug log is on (it logs the message it
sends) go through pynetdicom as before."""

from __future__ import annotations

import logging
import struct
from typing import Any

from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu_primitives import P_DATA

PYNETDICOM_LOG = logging.getLogger("pynetdicom")
C_STORE_RSP, NO_DATA_SET = 0x8001, 0x0101
LAST_COMMAND_FRAGMENT = b"\x03"  # PS3.8 E.2: command, last fragment


def install(assoc: Any) -> None:
    dimse = assoc.dimse
    send_msg = dimse.send_msg

    def send(primitive: Any, context_id: int) -> None:
        command = encoded_store_response(primitive)
        if command is None or PYNETDICOM_LOG.isEnabledFor(logging.DEBUG) or (
                dimse.maximum_pdu_size and len(command) + 7 > dimse.maximum_pdu_size):
            send_msg(primitive, context_id)
            return
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, LAST_COMMAND_FRAGMENT + command))
        dimse.dul.send_pdu(pdata)

    dimse.send_msg = send


def encoded_store_response(primitive: Any) -> bytes | None:
    """The command set of a C-STORE-RSP without a data set, or None for anything else."""
    if (not isinstance(primitive, C_STORE) or primitive.MessageIDBeingRespondedTo is None
            or primitive.Status is None or primitive.OffendingElement is not None or primitive.DataSet
            or primitive.AffectedSOPClassUID is None or primitive.AffectedSOPInstanceUID is None):
        return None
    comment = primitive.ErrorComment
    try:
        elements = [
            _element(0x0002, _text(primitive.AffectedSOPClassUID, b"\0")),
            _element(0x0100, struct.pack("<H", C_STORE_RSP)),
            _element(0x0120, struct.pack("<H", primitive.MessageIDBeingRespondedTo)),
            _element(0x0800, struct.pack("<H", NO_DATA_SET)),
            _element(0x0900, struct.pack("<H", primitive.Status))]
        if comment is not None:
            elements.append(_element(0x0902, _text(comment, b" ")))
        elements.append(_element(0x1000, _text(primitive.AffectedSOPInstanceUID, b"\0")))
    except (UnicodeEncodeError, struct.error, TypeError):
        return None  # not plain ASCII, out of range: pynetdicom's own encoder decides
    body = b"".join(elements)
    return _element(0x0000, struct.pack("<I", len(body))) + body


def _text(value: Any, pad: bytes) -> bytes:
    raw = str(value).encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def _element(element: int, value: bytes) -> bytes:
    return struct.pack("<HHI", 0x0000, element, len(value)) + value
