"""Remote consultation across tiers: request, triage, expert or MDT, live session, signed opinion."""
