"""calbot's core: use cases and their ports. No chat SDK or HTTP client is imported here."""
