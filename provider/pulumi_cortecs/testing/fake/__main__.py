"""Run the fake cortecs.ai instance API as a local HTTP server.

The flags and their defaults (``--help``) come from the fake's settings
(:mod:`~pulumi_cortecs.testing.fake._settings`).

The first line on stdout is the API base URL (``http://127.0.0.1:PORT/api/v1``), so a script
can start the fake with ``--port 0`` and read where it listens. The second line gives it and the
demo credentials as shell exports (the fake serves until killed, so read its output from a file):

    python -m pulumi_cortecs.testing.fake --port 0 > fake.out &
    until [ "$(wc -l < fake.out)" -ge 2 ]; do sleep 0.1; done
    eval "$(sed -n 2p fake.out)"  # CORTECS_API_BASE_URL, _CLIENT_ID, _CLIENT_SECRET, _API_KEY
    ...
    kill %1

``--era`` chooses the API's era: ``today`` (the default) answers as today's API does, in the
shape the official client (cortecs-py 0.1.2) reads: every key present, whole-number sizes,
``--max-model-len``, ``num_workers`` and ``worker_statuses`` on every instance. ``seed`` answers
as the contract's main text (the API of the project's start): ``max_context_length``, sizes as
3.8, and per ``--shape`` progress per worker without ``num_workers`` (``newer``) or on
``instance_status`` without ``worker_statuses`` (``older``). In today's era ``--shape older``
adds ``instance_status.init_progress`` beside the workers'.

Instances go through ``--num-steps`` init steps of ``--step-seconds`` each (or one length per
step: ``--step-seconds 30,5,120,60,10``), are running once the last step ends (``--running-at
end``) or begins (``start``; only then is step n of n never reported while pending, as
cortecs-py's polling assumes), then serve an OpenAI-compatible chat API at their ``base_url``.
``--instant-models`` makes the catalog's instantly provisioned models run at once;
``--ingress-errors`` are statuses the ingress answers to the first requests to a fresh endpoint.
``--fault-rate`` injects random faults (429/5xx, drops, slow answers, token expiry, lost start
responses) reproducibly for ``--seed``. Tests steer a running fake through ``/_fake/`` (state,
faults, config, foreign instances, reset; see pulumi_cortecs/testing/fake/_admin.py): e.g.
``POST /_fake/faults {"inject": {"kind": "html_body", "path": "/instances/*"}}`` spoils the
next answer about an instance; the kinds are in pulumi_cortecs/testing/fake/_faults.py.
SIGTERM or SIGINT stops it cleanly. A port it cannot listen on (taken, or privileged) ends it
with a one-line error on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._server import FakeServer
from pulumi_cortecs.testing.fake._settings import SETTINGS, Flag, Setting

PROG = "python -m pulumi_cortecs.testing.fake"
EXIT_CANNOT_LISTEN = 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    for setting in SETTINGS:
        if setting.flag is not None:
            _add_flag(parser, setting, setting.flag)
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="probability of a random fault on each API call",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for tokens and random faults")
    return parser.parse_args(argv)


def _add_flag(parser: argparse.ArgumentParser, setting: Setting, flag: Flag) -> None:
    # Unset flags stay out of the namespace, so the backend keeps the setting's default.
    common: dict[str, Any] = {"dest": setting.name, "default": argparse.SUPPRESS}
    if isinstance(setting.default, bool):
        parser.add_argument(flag.name, action="store_true", help=setting.help, **common)
        return
    parser.add_argument(
        flag.name,
        type=flag.parse or type(setting.default),
        choices=flag.choices,
        help=f"{setting.help} (default: {_shown(setting.default)})",
        **common,
    )


def _shown(default: Any) -> str:
    if isinstance(default, tuple):
        return ",".join(map(str, default)) or "none"
    return str(default)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = {s.name: getattr(args, s.name) for s in SETTINGS if hasattr(args, s.name)}
    backend = FakeBackend(seed=args.seed, **settings)
    if args.fault_rate > 0:
        backend.faults.set_random(args.fault_rate, args.seed)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = FakeServer(backend, host=args.host, port=args.port)
    except OSError as error:  # a traceback would bury the one thing to change: the port
        print(
            f"{PROG}: error: cannot listen on {args.host}:{args.port} "
            f"({error.strerror or error}): pass another --port, or --port 0 for a free one",
            file=sys.stderr,
        )
        return EXIT_CANNOT_LISTEN
    with server:
        print(server.api_base_url, flush=True)
        print(
            f"export CORTECS_API_BASE_URL={server.api_base_url} "
            f"CORTECS_CLIENT_ID={backend.client_id} "
            f"CORTECS_CLIENT_SECRET={backend.client_secret} "
            f"CORTECS_API_KEY={backend.api_key}",
            flush=True,
        )
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
