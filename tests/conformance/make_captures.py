"""Record the conformance scripts on this machine's kernel into tests/data/.

Run as root with tcpdump installed, from the repository root:

    python -m tests.conformance.make_captures

Each script gives tests/data/<name>.pcap (the segments) and <name>.json (what
each step returned, the kernel's states after it, from /proc/net/tcp, and when each
call started and returned and when the states were read, in seconds from the start).
"""

import json
import os
import platform
import sys

from tcpedu.live import capture_supported, run_live

from .scripts import SCRIPTS, settle

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "data")


def record(name: str, directory: str = DATA) -> dict:
    pcap = os.path.join(directory, f"{name}.pcap")
    run = run_live(SCRIPTS[name], capture=pcap, settle=settle(name))
    meta = {"script": name, "kernel": platform.release(), "results": run.outcome.results,
            "states": run.outcome.states,
            "times": [{"call": list(t.call), "sample": list(t.sample)} for t in run.outcome.times]}
    with open(os.path.join(directory, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return meta


def main() -> int:
    why = capture_supported()
    if why:
        print(f"cannot capture here: {why}", file=sys.stderr)
        return 1
    for name in sys.argv[1:] or SCRIPTS:
        meta = record(name)
        print(f"{name}: {meta['results']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
