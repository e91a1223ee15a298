"""Run the fake cortecs.ai instance API as a local HTTP server.

Usage:
    python -m pulumi_cortecs.testing.fake [--host 127.0.0.1] [--port 0] [--step-seconds 1.0]
        [--num-steps 5] [--running-at end|start] [--instant-models] [--era today|seed]
        [--shape newer|older] [--serving-delay 0] [--ingress-errors 404,502] [--fault-rate 0]
        [--seed 0] [--token-ttl 3600]

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
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._server import FakeServer

T = TypeVar("T")


PROG = "python -m pulumi_cortecs.testing.fake"
EXIT_CANNOT_LISTEN = 1


def _numbers(kind: Callable[[str], T]) -> Callable[[str], list[T]]:
    def parse(text: str) -> list[T]:
        return [kind(part) for part in text.split(",") if part.strip()]

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--step-seconds",
        type=_numbers(float),
        default=[1.0],
        help="length of an init step, or comma-separated lengths, one per step",
    )
    parser.add_argument("--num-steps", type=int, default=5, help="init steps before running")
    parser.add_argument(
        "--running-at",
        choices=("end", "start"),
        default="end",
        help="whether an instance runs once its last init step ends or begins",
    )
    parser.add_argument(
        "--instant-models",
        action="store_true",
        help="models the catalog marks instant_provisioned run as soon as they are started",
    )
    parser.add_argument(
        "--era",
        choices=("today", "seed"),
        default="today",
        help="the API era to answer as: today's (what cortecs-py 0.1.2 reads) or the seed's",
    )
    parser.add_argument(
        "--shape",
        choices=("newer", "older"),
        default="newer",
        help="where instances report init progress: per worker (newer) or on instance_status "
        "(older; in the seed era without worker_statuses)",
    )
    parser.add_argument(
        "--serving-delay",
        type=float,
        default=0.0,
        help="seconds a running instance answers 503 before serving",
    )
    parser.add_argument(
        "--ingress-errors",
        type=_numbers(int),
        default=[],
        help="statuses (e.g. 404,502) answered to the first requests to a fresh endpoint",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="probability of a random fault on each API call",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for tokens and random faults")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime (s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps = args.step_seconds
    backend = FakeBackend(
        step_seconds=steps[0] if len(steps) == 1 else steps,
        num_steps=args.num_steps if len(steps) == 1 else len(steps),
        running_at=args.running_at,
        instant_models=args.instant_models,
        ingress_errors=args.ingress_errors,
        token_ttl=args.token_ttl,
        api_era=args.era,
        response_shape=args.shape,
        serving_delay=args.serving_delay,
        seed=args.seed,
    )
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
