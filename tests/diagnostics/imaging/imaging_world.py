"""Studies for the DICOMweb and viewer tests, written the way a modality's would be: pydicom data sets
stored through the ingest's `store_instance` (blob, index, matching to the order)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydicom.uid import generate_uid

from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from carebridge.diagnostics.imaging.store import StoredInstance, store_instance


@dataclass
class StoredStudy:
    study_uid: str
    series_uid: str
    files: list[bytes] = field(default_factory=list)
    stored: list[StoredInstance] = field(default_factory=list)

    @property
    def sop_uids(self) -> list[str]:
        return [s.sop_instance_uid for s in self.stored]


async def store_files(db, blobs, dnet, files: list[bytes], **kw) -> list[StoredInstance]:  # noqa: ANN001
    return [await store_instance(db, blobs, data, sending_facility_id=dnet.community.id,
                                 hub_facility_id=dnet.hub.id, calling_ae="CT1", **kw) for data in files]


async def store_ct(db, blobs, dnet, *, order=None, count: int = 5, size: int = 64,  # noqa: ANN001
                   when: dt.datetime | None = None, patient_id: str | None = None,
                   description: str = "CT HEAD") -> StoredStudy:
    """A small CT series (HU in the pixels after the rescale, window 40/80 in the header) for the
    order's patient, matched to `order` by its accession number (unmatched when `order` is None)."""
    spec = SeriesSpec(patient_id=patient_id if patient_id is not None else dnet.mrn,
                      accession_number=order.accession_number if order is not None else "",
                      count=count, size=size, study_uid=generate_uid(), series_uid=generate_uid(),
                      study_description=description, when=when or dt.datetime(2026, 3, 1, 9, 30))
    files = list(ct_series(spec))
    return StoredStudy(spec.study_uid, spec.series_uid, files, await store_files(db, blobs, dnet, files))
