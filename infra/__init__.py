"""Configuration, PostgreSQL (or the embedded server) and the one composition root."""
