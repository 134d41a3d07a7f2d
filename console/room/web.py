"""The room's web side (aiohttp): the page, and the two requests that join.

Routes: ``GET /`` (the page), ``GET /room.js`` and ``/room.css`` (its
script and style), ``POST /ice`` (a token in; the ICE servers to reach the
audio through, with this listener's TURN credentials, out), ``POST /join``
(a token and the page's WebRTC offer in, the answer out). Everything after
the join goes over the peer connection (:mod:`console.room.peer`).

The link is ``https://host:port/#TOKEN``: the token sits in the fragment,
which a browser never sends in a request, so it stays out of server and
proxy logs and ``Referer`` headers; the page reads it, takes it off the
address bar and posts it with the offer. The page and its files hold no
secret. Every response forbids caching and framing and allows scripts from
the room alone; every request is counted against its address
(:mod:`console.room.limits`), and a wrong token waits longer each time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from console.room.room import RoomError

if TYPE_CHECKING:
    from console.room.room import Room

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Bytes a join request may carry (an SDP offer is a few kilobytes)."""
STATIC = {"/": ("index.html", "text/html"), "/room.js": ("room.js", "text/javascript"),
          "/room.css": ("room.css", "text/css")}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _static(name: str) -> bytes:
    return (resources.files("console.room") / "static" / name).read_bytes()


def build_app(room: Room) -> web.Application:
    """The aiohttp application serving ``room``."""
    files = {path: (_static(name), kind) for path, (name, kind) in STATIC.items()}

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        address = request.remote or "?"
        wait = room.requests.allow(address)
        if wait:
            response: web.StreamResponse = web.json_response(
                {"error": "too many requests; try again shortly"}, status=429,
                headers={"Retry-After": str(max(1, round(wait)))})
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
        response.headers.update(HEADERS)
        return response

    async def page(request: web.Request) -> web.Response:
        body, kind = files[request.path]
        return web.Response(body=body, content_type=kind, charset="utf-8")

    async def read(request: web.Request, keys: tuple[str, ...]
                   ) -> tuple[Any, dict[str, str]] | web.Response:
        """The invite a request's token opens and its string fields, or the refusal."""
        address = request.remote or "?"
        if request.content_length is None or request.content_length > MAX_BODY:
            return web.json_response({"error": "the request is too large"}, status=413)
        try:
            data = json.loads(await request.read())
            fields = {key: data[key] for key in ("token", *keys)}
            if not all(isinstance(v, str) for v in fields.values()):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            wanted = "a token and an offer" if keys else "a token"
            return web.json_response({"error": f"this request needs {wanted}"}, status=400)
        invite = room.invites.find(fields["token"])
        if invite is None:
            delay = room.failures.fail(address)
            log.warning("room: a wrong or revoked link from %s", address)
            await asyncio.sleep(delay)
            return web.json_response({"error": "this link does not open the room (it was "
                                               "revoked, replaced or mistyped)"}, status=403)
        return invite, fields

    async def ice(request: web.Request) -> web.Response:
        """How the page is to reach the audio (ICE servers with its own credentials)."""
        checked = await read(request, ())
        if isinstance(checked, web.Response):
            return checked
        invite, _ = checked
        return web.json_response(room.ice.page_configuration(invite.name))

    async def join(request: web.Request) -> web.Response:
        address = request.remote or "?"
        checked = await read(request, ("sdp", "type"))
        if isinstance(checked, web.Response):
            return checked
        invite, fields = checked
        sdp, kind = fields["sdp"], fields["type"]
        if kind != "offer":
            return web.json_response({"error": "a join needs an offer"}, status=400)
        try:
            answer = await room.join(invite, address, sdp, kind)
        except RoomError as exc:
            return web.json_response({"error": str(exc)}, status=503)
        except Exception as exc:  # a malformed offer: aiortc's own words
            log.warning("room: an offer from %s could not be answered: %s", address, exc)
            return web.json_response({"error": f"the offer could not be answered: {exc}"},
                                     status=400)
        return web.json_response({**answer, "name": invite.name})

    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    for path in STATIC:
        app.router.add_get(path, page)
    app.router.add_post("/ice", ice)
    app.router.add_post("/join", join)
    return app
