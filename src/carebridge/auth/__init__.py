"""Who is calling: users, per-facility roles, sessions, API tokens, passwords, second factor."""
