"""Code every service shares: event contracts, topics, wiring, auth, crypto, observability."""
