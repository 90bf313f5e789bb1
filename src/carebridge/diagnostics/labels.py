"""Words for the diagnosis pages (marked for translation, translated when rendered)."""

from carebridge.diagnostics.lifecycle import State
from carebridge.kit.i18n import N_

LABELS = {
    "state": {State.awaiting_study: N_("Awaiting images"), State.ready: N_("Waiting to be read"),
              State.preliminary: N_("Preliminary report"), State.reported: N_("Reported"),
              State.cancelled: N_("Cancelled")},
    "urgency": {"stat": N_("STAT"), "urgent": N_("Urgent"), "routine": N_("Routine")},
    "modality": {"CT": N_("CT"), "MR": N_("MR"), "DX": N_("Digital X-ray (DX)"), "CR": N_("Computed radiography (CR)"),
                 "US": N_("Ultrasound"), "MG": N_("Mammography"), "ECG": N_("ECG"), "SM": N_("Pathology slide")},
    "event": {"order": N_("Ordered"), "study_arrived": N_("Study arrived"), "study_linked": N_("Study linked by hand"),
              "complete_study": N_("Study complete, on the worklist"), "claim": N_("Reader opened it"),
              "release": N_("Reader released it"), "sign_preliminary": N_("Preliminary report signed"),
              "sign_final": N_("Final report signed"), "cancel": N_("Cancelled"),
              "report_addendum": N_("Addendum to the report"), "critical_ack": N_("Critical finding acknowledged"),
              "ecg_preread": N_("Automatic pre-read")},
    "party": {"sender": N_("Sending site"), "reader": N_("Reader"), "system": N_("System")},
    "kind": {"imaging": N_("Images"), "ecg": N_("ECG"), "pathology": N_("Slides")},
}
