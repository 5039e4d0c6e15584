"""The headers every answer carries: a Content-Security-Policy (with a nonce for the one
inline style allowed), no framing but for the views marked :func:`frameable`, and CORS,
since every route reads and any origin may call it from a browser."""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request

#: Pages load scripts, styles, images and data from this server only and run no inline
#: script: an injected ``<script>`` or ``onerror=`` does nothing. The one inline style
#: allowed is the editor's own ``<style>`` element, which carries the response's nonce.
#: No other site may show a page in a frame (clickjacking), except the views marked
#: :func:`frameable`.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'{nonce}; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors {frame_ancestors}")


def init_app(app: Flask) -> None:
    """Add the headers to every answer of ``app``."""
    app.after_request(_cors)
    app.after_request(_security_headers)


def csp_nonce() -> str:
    """A random nonce for this response's style elements (CodeMirror inserts one)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def frameable(view):
    """Mark ``view`` as one whose answers any site may show in a frame.

    Only for pages that show public data and offer no action (OpenRefine shows the
    reconciliation preview in an iframe); every other answer forbids framing.
    """
    view.kg_frameable = True
    return view


_UNFRAMED_CSP = CSP.format(nonce="", frame_ancestors="'none'")  # most answers: made once


def _security_headers(response: Response) -> Response:
    nonce = g.get("csp_nonce")
    view = current_app.view_functions.get(request.endpoint or "")
    framed = getattr(view, "kg_frameable", False)
    headers = response.headers
    headers.add("Content-Security-Policy", CSP.format(
        nonce=f" 'nonce-{nonce}'" if nonce else "", frame_ancestors="*" if framed else "'none'")
        if nonce or framed else _UNFRAMED_CSP)
    if not framed:  # for browsers that predate frame-ancestors
        headers.add("X-Frame-Options", "DENY")
    headers.add("X-Content-Type-Options", "nosniff")
    headers.add("Referrer-Policy", "same-origin")
    return response


def _cors(response: Response) -> Response:
    # every route reads: any origin may call it from a browser
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = response.headers.get(
            "Allow", "GET, HEAD, OPTIONS")
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, Authorization"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
