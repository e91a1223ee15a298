"""Run the fake cortecs.ai instance API as a local HTTP server.

Usage:
    python -m pulumi_cortecs.testing.fake [--host 127.0.0.1] [--port 0] [--step-seconds 1.0]
        [--num-steps 5] [--era today|seed] [--shape newer|older] [--serving-delay 0]
        [--fault-rate 0] [--seed 0] [--token-ttl 3600]

The first line on stdout is the API base URL (``http://127.0.0.1:PORT/api/v1``), so a script
can start the fake with ``--port 0`` and read where it listens. The second line gives the demo
credentials as shell exports:

    CORTECS_API_BASE_URL=$(python -m pulumi_cortecs.testing.fake --port 0 | head -n1)
    export CORTECS_CLIENT_ID=demo-client-id CORTECS_CLIENT_SECRET=demo-client-secret
    export OPENAI_API_KEY=demo-api-key

``--era`` chooses the API's era: ``today`` (the default) answers as today's API does, in the
shape the official client (cortecs-py 0.1.2) reads: every key present, whole-number sizes,
``--max-model-len``, ``num_workers`` and ``worker_statuses`` on every instance. ``seed`` answers
as the contract's main text (the API of the project's start): ``max_context_length``, sizes as
3.8, and per ``--shape`` progress per worker without ``num_workers`` (``newer``) or on
``instance_status`` without ``worker_statuses`` (``older``). In today's era ``--shape older``
adds ``instance_status.init_progress`` beside the workers'.

Instances go through ``--num-steps`` init steps of ``--step-seconds`` each, then serve an
OpenAI-compatible chat API at their ``base_url``. ``--fault-rate`` injects random faults
(429/5xx, drops, slow answers, token expiry, lost start responses) reproducibly for ``--seed``.
Tests steer a running fake through ``/_fake/`` (state, faults, config, reset; see
pulumi_cortecs/testing/fake/_admin.py). SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._server import FakeServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_cortecs.testing.fake",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="length of an init step")
    parser.add_argument("--num-steps", type=int, default=5, help="init steps before running")
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
    backend = FakeBackend(
        step_seconds=args.step_seconds,
        num_steps=args.num_steps,
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
    with FakeServer(backend, host=args.host, port=args.port) as server:
        print(server.api_base_url, flush=True)
        print(
            f"export CORTECS_API_BASE_URL={server.api_base_url} "
            f"CORTECS_CLIENT_ID={backend.client_id} "
            f"CORTECS_CLIENT_SECRET={backend.client_secret} "
            f"OPENAI_API_KEY={backend.api_key}",
            flush=True,
        )
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
