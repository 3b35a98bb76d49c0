"""Stands in for a mechanism process that escaped every layer inside it and
now writes whatever it likes on its channel: forged verdicts, claimed
durations, floods. Chosen by ``FORGER_MODE`` in the request's source text."""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    channel = sys.stdout
    mode = "verdict"
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "load":
            mode = request["source"].split("FORGER_MODE=", 1)[-1].split()[0]
            # What the old verify child's caller trusted: a last line claiming success.
            reply = {"ok": True, "stages": [{"stage": "verify", "ok": True, "duration_s": 0.01, "violations": [],
                                              "details": "", "counterexample": None}]}
        elif request["op"] == "build":
            reply = {"ok": True, "methods": ["advise", "check", "propose", "accept", "observe"]}
        elif mode == "verdict":
            reply = {"ok": True, "value": {"admitted": True, "stages": []}}
        elif mode == "slow":
            time.sleep(0.8)
            reply = {"ok": True, "value": "fine", "duration_s": 0.0001}
        elif mode == "flood":
            channel.write("{\"ok\": true, \"value\": \"" + "A" * (8 << 20) + "\"}\n")
            channel.flush()
            continue
        else:  # "message": a failure whose message is huge
            reply = {"ok": False, "code": "call-raised", "message": "B" * (900 << 10), "line": 10 ** 12}
        channel.write(json.dumps(reply) + "\n")
        channel.flush()
