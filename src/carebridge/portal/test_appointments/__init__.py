"""Appointments for medical tests (issue 5, part 5): catalogue, booking, check-in, results."""
