"""Package data: the JSON Schemas secretsync validates against (see README.md here)."""
