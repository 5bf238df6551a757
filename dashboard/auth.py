"""Dashboard login: an API key of the tenant, exchanged for a signed session cookie."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

import flask
from sqlalchemy import Engine

from store.tenants import tenant_for_key

OPEN_PATHS = ("login", "logout", "_dash-component-suites/", "assets/", "_favicon.ico")

FORM = """<!doctype html><html><head>
<title>cachemeter · sign in</title>
<style>body{{font-family:system-ui,sans-serif;background:#f6f7f9;display:flex;
justify-content:center;
padding-top:12vh}}form{{background:#fff;padding:32px;border-radius:8px;box-shadow:0 1px 4px #0002;
width:380px}}input{{width:100%;padding:8px;margin:8px 0 16px;box-sizing:border-box}}
button{{padding:8px 16px;background:#1f5fa8;color:#fff;border:0;border-radius:4px}}
.error{{color:#b8455b}}</style></head><body><form method="post" action="{action}">
<h2>cachemeter</h2><p>Sign in with an API key of your tenant
(<code>cachemeter keys create --tenant NAME</code>).</p>
<label for="key">API key</label><input id="key" name="key" type="password" autofocus>
<input type="hidden" name="next" value="{next}">
<p class="error">{error}</p><button id="sign-in" type="submit">Sign in</button>
</form></body></html>"""


def current_tenant() -> tuple[int, str] | None:
    """The signed-in tenant (id, name), or None."""
    tenant_id, name = flask.session.get("tenant_id"), flask.session.get("tenant")
    return (int(tenant_id), str(name)) if tenant_id is not None and name else None


def install(server: flask.Flask, engine: Engine, prefix: str, secret_key: str) -> None:
    """Require a signed-in tenant for every dashboard page and callback.

    Flask sees paths below the mount point ("/login"); browsers see them under `prefix`.
    """
    server.secret_key = secret_key
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    def page(error: str = "", next_url: str = prefix) -> str:
        return FORM.format(
            action=f"{prefix}login", next=html.escape(next_url), error=html.escape(error)
        )

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if flask.request.method == "GET":
            return page(next_url=flask.request.args.get("next", prefix))
        key = flask.request.form.get("key", "").strip()
        next_url = flask.request.form.get("next", prefix)
        if not next_url.startswith(prefix):
            next_url = prefix  # never redirect off the dashboard
        with engine.begin() as conn:
            tenant = tenant_for_key(conn, key, touch=True) if key else None
        if tenant is None:
            return page("That key is not valid (or was revoked or expired).", next_url), 401
        if "read" not in tenant.scopes:
            return page("That key cannot read reports (it lacks the read scope).", next_url), 403
        flask.session.clear()
        flask.session.update(tenant_id=tenant.id, tenant=tenant.name)
        return flask.redirect(next_url)

    @server.route("/logout")
    def logout() -> Any:
        flask.session.clear()
        return flask.redirect(f"{prefix}login")

    @server.before_request
    def require_login() -> Any:
        path = flask.request.path.lstrip("/")
        if path.startswith(OPEN_PATHS) or current_tenant() is not None:
            return None
        if path.startswith("_dash-"):
            return flask.jsonify({"error": "not signed in"}), 401
        target = prefix + flask.request.full_path.lstrip("/").rstrip("?")
        return flask.redirect(f"{prefix}login?{urlencode({'next': target})}")
