"""Dashboard login: an API key of the tenant, exchanged for a server-side session (a row of
dashboard_sessions) whose random token rides in a signed, HTTP-only cookie. Every page and
callback checks the session and the key behind it."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Engine

from store.sessions import SessionLimits, SignedIn, check_session, close_session, open_session
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


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions last and whether their cookie is always Secure."""

    limits: SessionLimits = field(
        default_factory=lambda: SessionLimits(idle=timedelta(hours=12), lifetime=timedelta(days=7))
    )
    # Secure on every answer, not only those to HTTPS requests.
    force_secure: bool = False


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure whenever the request came over HTTPS (or always)."""

    def __init__(self, force_secure: bool) -> None:
        self.force_secure = force_secure

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        # The scheme is the one the ASGI/WSGI server reports: behind a TLS-terminating proxy
        # that is https only where the server trusts that proxy's X-Forwarded-Proto (uvicorn:
        # --forwarded-allow-ips); otherwise CACHEMETER_SESSION_COOKIE_SECURE says so.
        return self.force_secure or (flask.has_request_context() and flask.request.is_secure)


def current_tenant() -> tuple[int, str] | None:
    """The tenant (id, name) of this request's checked session, or None."""
    signed_in: SignedIn | None = flask.g.get("signed_in") if flask.has_app_context() else None
    return (signed_in.tenant_id, signed_in.tenant) if signed_in is not None else None


def _cookie() -> tuple[int, str] | None:
    """The tenant and session token the request's signed cookie names, if it names them."""
    tenant_id, token = flask.session.get("tenant_id"), flask.session.get("sid")
    if isinstance(tenant_id, int) and isinstance(token, str) and token:
        return tenant_id, token
    return None  # no cookie, or one from before sessions were kept server-side


def install(
    server: flask.Flask,
    engine: Engine,
    prefix: str,
    secret_key: str,
    policy: SessionPolicy | None = None,
) -> None:
    """Require a live session for every dashboard page and callback.

    Flask sees paths below the mount point ("/login"); browsers see them under `prefix`.
    """
    policy = policy or SessionPolicy()
    server.secret_key = secret_key
    server.session_interface = _SessionCookies(policy.force_secure)
    # The signature expires with the session's lifetime too (a cookie older than that is not
    # even looked up); the cookie itself lasts as long as the browser session.
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=policy.limits.lifetime,
    )

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
        now = datetime.now(UTC)
        previous = _cookie()
        with engine.begin() as conn:
            tenant = tenant_for_key(conn, key, touch=True) if key else None
            if tenant is None:
                return page("That key is not valid (or was revoked or expired).", next_url), 401
            if "read" not in tenant.scopes or tenant.key_id is None:
                return page(
                    "That key cannot read reports (it lacks the read scope).", next_url
                ), 403
            if previous is not None:
                # A new sign-in replaces the browser's old session rather than leaving it open.
                close_session(conn, *previous, now)
            token = open_session(conn, tenant.id, tenant.key_id, now, policy.limits)
        flask.session.clear()
        flask.session.update(tenant_id=tenant.id, sid=token)
        return flask.redirect(next_url)

    @server.route("/logout")
    def logout() -> Any:
        signed = _cookie()
        if signed is not None:
            # Closed server-side: a copy of the cookie replayed later reads nothing.
            with engine.begin() as conn:
                close_session(conn, *signed, datetime.now(UTC))
        flask.session.clear()
        return flask.redirect(f"{prefix}login")

    @server.before_request
    def require_login() -> Any:
        path = flask.request.path.lstrip("/")
        if path.startswith(OPEN_PATHS):
            return None
        signed = _cookie()
        if signed is not None:
            with engine.begin() as conn:
                checked = check_session(conn, *signed, datetime.now(UTC), policy.limits)
            if checked is not None:
                flask.g.signed_in = checked
                return None
        flask.session.clear()  # a dead session's cookie is dropped from the browser too
        if path.startswith("_dash-"):
            return flask.jsonify({"error": "not signed in"}), 401
        target = prefix + flask.request.full_path.lstrip("/").rstrip("?")
        return flask.redirect(f"{prefix}login?{urlencode({'next': target})}")
