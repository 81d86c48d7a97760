"""Hostile input on every inbound surface (issue 6). Where each case lives:

Slack `/slack/events`         test_slack_requests.py (+ tests/integrations/slack/test_requests.py)
Teams `/api/messages`         test_teams_requests.py (+ tests/integrations/teams/test_route.py)
Cronofy `/webhooks/cronofy/`  test_cronofy_push.py (+ tests/e2e/test_connection_health.py,
                              tests/integrations/cronofy/test_push.py)
Connect links, OAuth state    test_connect_links.py (+ tests/e2e/test_connect_faults.py,
                              tests/storage/test_secrets_at_rest.py, tests/browser)
Authorization of buttons      test_authorization.py (+ tests/integrations/slack/test_nudges.py)
Fuzzing                       test_fuzz_parsers.py, test_fuzz_surfaces.py (+ the plain-text
                              properties in tests/bot/test_commands.py, tests/integrations/entra)

"Nothing processed" is checked with a row-for-row database snapshot (support.py), not
just the absence of one expected row.
"""
