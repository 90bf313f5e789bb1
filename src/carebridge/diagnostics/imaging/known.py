"""The study and series rows one DICOM association has already stored into.

A modality sends a series as one association: hundreds of objects of the same study and series.
After the first, `store.store_instance` needs of them only their row ids and the study's sender,
which it would otherwise look up for every object. Those facts cannot change under it: study and
series rows are never deleted, a study keeps its sending facility and a series its study (linking a
study to an order changes neither). So an entry stays true for the association's life, provided it
names a committed row: entries are added only after the transaction that stored the object has
committed (`kit.events.after_commit`), never from one that may still roll back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.events import after_commit

LIMIT = 256  # rows per association; a sender of more series per association just looks the others up


@dataclass(frozen=True)
class KnownSeries:
    study_id: int  # diagnostic_studies.id
    sender_id: int  # the study's sending facility
    series_id: int


class KnownRows:
    """One association's memory (its own thread uses it: no lock)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], KnownSeries] = {}

    def lookup(self, study_uid: str, series_uid: str) -> KnownSeries | None:
        return self._series.get((study_uid, series_uid))

    def remember_after_commit(self, session: AsyncSession, study_uid: str, series_uid: str,
                              known: KnownSeries) -> None:
        key = (study_uid, series_uid)
        if key in self._series:
            return

        async def remember() -> None:
            if len(self._series) < LIMIT:
                self._series[key] = known

        after_commit(session, remember)
