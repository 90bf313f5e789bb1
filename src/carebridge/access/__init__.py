"""Who may read or write which patient data: registration, grants, consent, break-the-glass."""
