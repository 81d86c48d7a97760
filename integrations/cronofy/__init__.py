"""Cronofy adapter: the async API client, push-notification signatures and the sandbox."""

from integrations.cronofy.client import CronofyClient
from integrations.cronofy.push import sign, verify_hmac

__all__ = ["CronofyClient", "sign", "verify_hmac"]
