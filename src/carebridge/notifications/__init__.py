"""In-app notifications (channels and the durable outbox come with the consultation work)."""
