"""The internet hospital: what patients and their families do from a phone."""
