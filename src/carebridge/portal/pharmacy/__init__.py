"""Internet-hospital pharmacy: e-prescriptions from a bundled catalogue, automatic checks,
pharmacist review, refills of chronic prescriptions, and the hand-off to dispensing."""
