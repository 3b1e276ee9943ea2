"""The trial's language: the participant aggregate, its events and the clinical rules."""
