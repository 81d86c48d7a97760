"""calbot's own HTTP pages: connect links, the OAuth callback, health and readiness."""
