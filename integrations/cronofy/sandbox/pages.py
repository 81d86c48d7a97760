"""HTML pages of the sandbox: the stand-in for Microsoft's sign-in and consent screen."""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape

_BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center;
         justify-content: center; background: #f2f2f2;
         font-family: "Segoe UI", -apple-system, "Helvetica Neue", Arial, sans-serif;
         color: #1b1b1b; }
  .card { width: 440px; max-width: calc(100vw - 32px); background: #fff; padding: 44px;
          box-shadow: 0 2px 6px rgba(0, 0, 0, .2); }
  .logo { display: flex; align-items: center; gap: 8px; font-size: 15px; color: #5e5e5e;
          margin-bottom: 16px; }
  .squares { display: grid; grid-template-columns: 10px 10px; gap: 2px; }
  .squares span { width: 10px; height: 10px; }
  h1 { font-size: 24px; font-weight: 600; margin: 0 0 12px; }
  p { font-size: 15px; line-height: 1.4; margin: 0 0 12px; }
  ul { margin: 0 0 16px; padding-left: 20px; font-size: 15px; line-height: 1.6; }
  label { display: block; font-size: 13px; color: #5e5e5e; margin: 12px 0 4px; }
  input[type=email], select { width: 100%; padding: 6px 0; font-size: 15px; border: 0;
          border-bottom: 1px solid #666; background: transparent; outline: none; }
  input[type=email]:focus, select:focus { border-bottom-color: #0067b8; }
  .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 28px; }
  button { min-width: 108px; padding: 6px 12px; font-size: 15px; border: 0; cursor: pointer; }
  .primary { background: #0067b8; color: #fff; }
  .primary:hover { background: #005da6; }
  .secondary { background: #cccccc; color: #1b1b1b; }
  .secondary:hover { background: #bbbbbb; }
  .app { font-weight: 600; }
  .note { margin-top: 24px; font-size: 12px; color: #767676; }
  .error { color: #a80000; }
</style>
</head>
<body>
<main class="card">
  <div class="logo">
    {% if brand == "Microsoft" %}
    <div class="squares" aria-hidden="true"><span style="background:#f25022"></span
    ><span style="background:#7fba00"></span><span style="background:#00a4ef"></span
    ><span style="background:#ffb900"></span></div>
    {% endif %}
    {{ brand }}
  </div>
  {% block content %}{% endblock %}
  <p class="note">Cronofy sandbox &mdash; no real account or calendar is touched.</p>
</main>
</body>
</html>
"""

_CONSENT = """{% extends "base.html" %}
{% block content %}
<h1>Sign in to Office 365</h1>
<p><span class="app">Cronofy for Office 365</span> wants to:</p>
<ul>
  <li>Read and write your calendars</li>
  <li>Sign you in and read your profile</li>
  <li>Maintain access to data you have given it access to</li>
</ul>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/oauth/authorize">
  {% for name, value in hidden.items() %}
  <input type="hidden" name="{{ name }}" value="{{ value }}">
  {% endfor %}
  <label for="email">Email</label>
  <input id="email" type="email" name="email" value="{{ email }}" required
         autocomplete="username" placeholder="someone@example.com">
  <label for="provider">Calendar provider</label>
  <select id="provider" name="provider">
    {% for value, label in providers %}
    <option value="{{ value }}"{% if provider == value %} selected{% endif %}>{{ label }}</option>
    {% endfor %}
  </select>
  <div class="buttons">
    <button type="submit" name="decision" value="cancel" class="secondary"
            formnovalidate>Cancel</button>
    <button type="submit" name="decision" value="approve" class="primary">Accept</button>
  </div>
</form>
{% endblock %}
"""

_MESSAGE = """{% extends "base.html" %}
{% block content %}
<h1>{{ title }}</h1>
{% for line in lines %}<p>{{ line }}</p>{% endfor %}
{% endblock %}
"""

_RELINK = """{% extends "base.html" %}
{% block content %}
<h1>Reconnect your calendar</h1>
<p>Cronofy lost access to the calendar of <strong>{{ email }}</strong>.</p>
<form method="post">
  <div class="buttons"><button type="submit" class="primary">Reconnect</button></div>
</form>
{% endblock %}
"""

_env = Environment(
    loader=DictLoader(
        {
            "base.html": _BASE,
            "consent.html": _CONSENT,
            "message.html": _MESSAGE,
            "relink.html": _RELINK,
        }
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(template: str, *, brand: str = "Microsoft", **context: Any) -> str:
    return _env.get_template(template).render(brand=brand, **context)


def consent_page(
    *, hidden: dict[str, str], email: str, provider: str, error: str | None = None
) -> str:
    return render(
        "consent.html",
        title="Sign in to Office 365",
        hidden=hidden,
        email=email,
        provider=provider,
        providers=(("office365", "Office 365"), ("google", "Google")),
        error=error,
    )


def message_page(title: str, *lines: str, brand: str = "Microsoft") -> str:
    return render("message.html", brand=brand, title=title, lines=lines)


def relink_page(*, email: str) -> str:
    return render("relink.html", brand="Cronofy", title="Reconnect your calendar", email=email)
