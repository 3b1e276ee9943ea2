"""Read models built from the participant events, with exactly-once tracking."""
