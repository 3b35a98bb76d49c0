"""Stands in for a mechanism process in which code has escaped the restricted
environment: it confines itself exactly as the real one does, then runs each
request's ``code`` as ordinary, unrestricted Python with ``os``,
``subprocess`` and ``socket`` already imported, and reports what happened."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    from sandbox import _host_main  # noqa: F401 - the same imports as the real process
    from sandbox._confine import confine

    confinement = confine()
    for line in sys.stdin:
        request = json.loads(line)
        scope = {"os": os, "subprocess": subprocess, "socket": socket, "sys": sys, "result": None}
        try:
            exec(request["code"], scope)  # noqa: S102 - the point: code with full privileges
            reply = {"ok": True, "value": repr(scope["result"]), "confinement": confinement}
        except BaseException as error:  # noqa: BLE001 - every outcome goes back to the test as a reply
            reply = {"ok": False, "error": type(error).__name__, "message": str(error), "confinement": confinement}
        channel.write(json.dumps(reply) + "\n")
        channel.flush()
