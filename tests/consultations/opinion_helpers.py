"""Helpers for tests that need a signed opinion: since signing goes through the opinion service
(take_action refuses `sign_opinion` on its own), tests reach `opinion_signed` the way users do."""

from __future__ import annotations

import hashlib

from carebridge.consultations import opinion
from carebridge.consultations.opinion_content import Diagnosis, Draft


class MemoryBlobs:
    """The BlobStore interface over a dict: the signed report's bytes, without a folder."""

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.items[digest] = data
        return digest

    async def get(self, digest: str) -> bytes:
        return self.items[digest]

    async def exists(self, digest: str) -> bool:
        return digest in self.items


DRAFT = Draft(assessment="Paroxysmal atrial fibrillation, CHA2DS2-VASc 3.",
              diagnoses=(Diagnosis("I48.9", ""), Diagnosis("I10", "Essential hypertension")),
              recommendations="Start anticoagulation; rate control with a beta blocker.",
              treatment_plan="Metoprolol 25 mg twice daily; review in 4 weeks.",
              referral_advice="keep_local", follow_up_days=28)


async def sign_opinion(db, principal, case_id: int, draft: Draft = DRAFT, blobs=None):  # noqa: ANN001, ANN201
    await opinion.save_draft(db, principal, case_id, draft)
    return await opinion.sign(db, principal, case_id, blobs or MemoryBlobs())
