"""Operations: `doctor`, `/metrics`, request ids, the Teams app package and CSV export.

doctor.py         `python app.py doctor`: the check runner and its ✓/✗ table
checks.py         the individual checks (settings, database, key, Slack, Teams, ...)
metrics.py        per-runtime Prometheus registry, request middleware, `/metrics`
cronofy_hooks.py  Cronofy call latency and errors, observed on the client's HTTP layer
request_id.py     `X-Request-Id` in, out, and in every log line of the request
teams_package.py  `python app.py teams-package`: manifest.json + icons, zipped
png.py            a tiny PNG writer for the generated icons (no imaging dependency)
export.py         `python app.py export`: a team's connection status as CSV
"""
