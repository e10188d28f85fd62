"""Server-rendered HTML of the listening test: the error page, the admin login and admin shell.

The rater's pages are rendered in the browser (``web/app.js``); these few are plain HTML so that
they work before (or without) any script: every value put into them is escaped.
"""

from __future__ import annotations

from html import escape

_REASONS = {400: "Bad request", 401: "Login needed", 403: "Not allowed", 404: "Not found",
            405: "Not allowed", 409: "Conflict", 413: "Too large", 422: "Invalid request",
            500: "Server error"}


def _page(title: str, body: str, page: str = "plain", scripts: tuple[str, ...] = ()) -> str:
    tag = "".join(f'\n  <script src="/static/{s}"></script>' for s in scripts)
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)}</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/style.css">
</head>
<body data-page="{page}">
  <header class="top"><div class="brand">Listening test</div></header>
  <main id="app" class="card">
{body}
  </main>{tag}
</body>
</html>
"""


def error_page(status: int, detail: str) -> str:
    """A page for an error outside the API: what happened, and where to go."""
    reason = _REASONS.get(status, "Error")
    return _page(f"{reason} – listening test", f"""    <h1>{escape(reason)}</h1>
    <p>{escape(detail)}</p>
    <p class="muted">Error {status}. If you were sent here by a study link, open that link
    again; if the problem stays, contact the researcher who invited you.</p>
    <p><a class="button" href="/">Go to the listening test</a></p>""")


def login_page(message: str | None = None) -> str:
    """The admin login form (POSTs the token to ``/admin/login``)."""
    note = f'\n    <p class="error" role="alert">{escape(message)}</p>' if message else ""
    return _page("Admin login – listening test", f"""    <h1>Admin login</h1>{note}
    <form method="post" action="/admin/login" class="login">
      <label for="token">Admin token (printed by <code>greenvoc listen serve</code>)</label>
      <input id="token" name="token" type="password" autocomplete="current-password"
             required autofocus>
      <button class="primary" type="submit">Log in</button>
    </form>""")


def admin_page() -> str:
    """The admin dashboard's shell; ``admin.js`` fills it."""
    return _page("Admin – listening test", """    <p>Loading…</p>""", page="admin",
                 scripts=("dom.js", "admin.js"))
