"""HL7 annotated ECG (aECG, HL7 v3 "PORT_MT020001", as the FDA receives it) into a Tracing.

Parsed with defusedxml: a document type declaration, an entity or an external reference is
refused rather than expanded, so a file cannot read local files or blow up memory (XXE, billion
laughs). The rhythm series is read: its time sequence gives the sampling interval (GLIST head +
increment) and each lead sequence is origin + scale x digits (SLIST_PQ) in the unit of the scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - only for the Element type; parsing is defusedxml's

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from carebridge.diagnostics.ecg.tracing import Tracing, build
from carebridge.diagnostics.ecg.when import device_time
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

NS = {"h": "urn:hl7-org:v3"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
TO_MV = {"uV": 1e-3, "mV": 1.0, "V": 1e3, "nV": 1e-6}
TO_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def looks_like(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"AnnotatedECG" in data[:8192]


def read(data: bytes) -> Tracing:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InvalidInput(N_("the XML file declares entities or a document type, which are not accepted"),
                           details={"field": "file"}) from exc
    except ET.ParseError as exc:
        raise InvalidInput(N_("the file is not well-formed XML"), details={"field": "file",
                                                                         "reason": str(exc)[:200]}) from exc
    if root.tag != "{urn:hl7-org:v3}AnnotatedECG":
        raise InvalidInput(N_("the XML file is not an HL7 annotated ECG"), details={"field": "file"})
    series = _rhythm_series(root)
    interval, start_text = _time_axis(series)
    leads, columns = _leads(series)
    subject = root.find(".//h:trialSubject/h:id", NS)
    center = root.find("h:effectiveTime/h:center", NS)
    return build(leads, columns, 1.0 / interval, "aecg",
                 start=device_time(start_text or (center.get("value", "") if center is not None else "")),
                 patient_key=(subject.get("extension", "") if subject is not None else "")[:64],
                 study_uid=_id_of(root))


def _id_of(root: ET.Element) -> str:
    element = root.find("h:id", NS)
    return element.get("root", "") if element is not None else ""


def _rhythm_series(root: ET.Element) -> ET.Element:
    found = root.findall(".//h:component/h:series", NS)
    for series in found:
        code = series.find("h:code", NS)
        if code is not None and code.get("code") == "RHYTHM":
            return series
    if found:
        return found[0]
    raise InvalidInput(N_("the annotated ECG holds no waveform series"), details={"field": "file"})


def _time_axis(series: ET.Element) -> tuple[float, str]:
    for sequence in series.iterfind("h:component/h:sequenceSet/h:component/h:sequence", NS):
        code = sequence.find("h:code", NS)
        if code is None or not code.get("code", "").startswith("TIME_"):
            continue
        increment = sequence.find("h:value/h:increment", NS)
        head = sequence.find("h:value/h:head", NS)
        try:
            seconds = float(increment.get("value")) * TO_SECONDS[increment.get("unit", "s")]
        except (AttributeError, KeyError, TypeError, ValueError):
            break
        if seconds > 0:
            return seconds, head.get("value", "") if head is not None else ""
    raise InvalidInput(N_("the annotated ECG does not give its sampling interval"), details={"field": "file"})


def _leads(series: ET.Element) -> tuple[list[str], list[np.ndarray]]:
    leads, columns = [], []
    for sequence in series.iterfind("h:component/h:sequenceSet/h:component/h:sequence", NS):
        code = sequence.find("h:code", NS)
        value = sequence.find("h:value", NS)
        if code is None or value is None or value.get(XSI_TYPE, "").split(":")[-1] != "SLIST_PQ":
            continue
        origin, scale, digits = value.find("h:origin", NS), value.find("h:scale", NS), value.find("h:digits", NS)
        try:
            unit = TO_MV[scale.get("unit", "uV")]
            samples = np.array((digits.text or "").split(), dtype=np.float64)
            columns.append((float(origin.get("value", "0")) + float(scale.get("value")) * samples) * unit)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(N_("a lead of the annotated ECG cannot be read"),
                               details={"field": "file", "lead": code.get("code", "")}) from exc
        leads.append(code.get("code", ""))
    return leads, columns
