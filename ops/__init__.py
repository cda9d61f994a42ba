"""msgctl: the operations CLI (tokens, seeding, status, dead-letter topics, docs, keys)."""
