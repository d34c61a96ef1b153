"""The control endpoints of the local HEASARC: <base>/_local_heasarc/{,knobs,reset,log}.

No real service uses this path. GET/POST/DELETE knobs reads, changes or resets the knobs;
reset resets the knobs and clears the request log; log reads (optionally filtered by a path
regex) or clears the request log; the bare prefix describes the run (URLs, Apache, pid).
`handle` is the route table's handler; control requests take no knobs and are not logged.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import parse_qsl

from .knobs import KnobError
from .request import Request

CONTROL_PREFIX = "/_local_heasarc"


def handle(req: Request) -> None:
    app, reply, method = req.app, req.reply, req.method
    sub = req.path[len(CONTROL_PREFIX):].strip("/")

    def send_json(status, obj):
        data = (json.dumps(obj, indent=None) + "\n").encode()
        reply.start(status, [("Content-Type", "application/json"),
                             ("Content-Length", str(len(data))),
                             ("Cache-Control", "no-store")])
        if method != "HEAD":
            reply.write(memoryview(data))

    if sub == "knobs":
        if method in ("POST", "PUT"):
            try:
                changes = json.loads(req.body.decode() or "{}")
                send_json(200, app.knobs.update(changes))
            except (KnobError, ValueError) as e:
                send_json(400, {"error": str(e)})
            return
        if method == "DELETE":
            send_json(200, app.knobs.reset())
            return
        send_json(200, app.knobs.snapshot())
    elif sub == "reset":
        if method not in ("POST", "PUT", "GET"):
            send_json(405, {"error": "use POST"})
            return
        app.knobs.reset()
        app.log.clear()
        send_json(200, {"knobs": app.knobs.snapshot(), "log": 0})
    elif sub == "log":
        if method in ("DELETE", "POST"):
            app.log.clear()
            send_json(200, [])
            return
        entries = app.log.entries()
        q = dict(parse_qsl(req.query))
        if "path" in q:
            try:
                rx = re.compile(q["path"])
            except re.error as e:
                send_json(400, {"error": str(e)})
                return
            entries = [e for e in entries if rx.search(e["path"])]
        send_json(200, entries)
    elif sub == "":
        send_json(200, dict(app.urls(), apache_port=app.apache_port,
                            apache_pid=app.apache_pid, data=str(app.data_root),
                            pid=os.getpid()))
    else:
        send_json(404, {"error": f"unknown control endpoint {sub!r}",
                        "endpoints": ["knobs", "reset", "log"]})
