"""The shared record: master patient index and FHIR-shaped record entries with provenance."""
