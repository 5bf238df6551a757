"""The API docs (/docs Swagger UI, /redoc ReDoc) served offline: assets from the fastapi-offline
package, pages from fastapi-csp-docs (no inline script or style), so a CSP of 'self' holds."""

from __future__ import annotations

from typing import Any

import fastapi_csp_docs
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi_offline import FastAPIOffline

ASSETS = "/docs/assets"
SWAGGER_INIT = "/docs/swagger-initializer.js"
REDOC_CSS = "/redoc/redoc.css"
# Every docs page and asset comes from this server: no CDN, no inline script, no framing.
# ReDoc's styled-components needs its own <style> elements, allowed by hash only: the empty
# one it fills through CSSOM and one stylesheet of ReDoc 2.5.3 (fastapi-offline 1.7.7, pinned
# for this; tests/test_docs.py fails if a new build injects another). ReDoc's search would
# need a blob: worker, so search is off. Icons are data: images; ReDoc's attribution logo
# from its CDN is refused.
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)
DOCS_CSP = (
    f"default-src 'self'; script-src 'self'; style-src 'self' {' '.join(REDOC_STYLE_HASHES)}; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'none'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")


def app_with_offline_docs(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc load every asset from the installed package."""
    app = FastAPIOffline(docs_url=None, redoc_url=None, static_url=ASSETS, **kwargs)
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return fastapi_csp_docs.get_swagger_ui_html(
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_init_script_url=SWAGGER_INIT,
        )

    @app.get(SWAGGER_INIT, include_in_schema=False)
    async def swagger_init() -> Response:
        return fastapi_csp_docs.get_swagger_ui_init_js(
            openapi_url=app.openapi_url or "/openapi.json",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return fastapi_csp_docs.get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
            redoc_css_url=REDOC_CSS,
            disable_search=True,
        )

    @app.get(REDOC_CSS, include_in_schema=False)
    async def redoc_css() -> Response:
        return fastapi_csp_docs.get_redoc_css()

    return app
