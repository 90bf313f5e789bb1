"""The demo network: a deterministic, fictional, bilingual regional network with patients and records."""
