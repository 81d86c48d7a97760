"""Microsoft Teams adapter (Bot Framework, thin port)."""
