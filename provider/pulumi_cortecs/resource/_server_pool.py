"""Lifting the dynamic-provider server's four-thread cap on concurrent calls.

``python -m pulumi.dynamic`` serves gRPC from a ``ThreadPoolExecutor(max_workers=4)``, and a
create holds its thread while the instance boots, so sixteen creates would take four rounds of
provisioning. Creates spend that time waiting on the network, so more threads cost little;
the executor is found from the server thread this code runs on and allowed more workers.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

SERVER_THREADS = 64
# Set to 4 to get the SDK's own cap back (benchmarks/ compares the two).
SERVER_THREADS_ENV = "CORTECS_SERVER_THREADS"


def server_threads() -> int:
    """``CORTECS_SERVER_THREADS`` if it is a positive whole number, else :data:`SERVER_THREADS`."""
    value = os.environ.get(SERVER_THREADS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else SERVER_THREADS


def widen_server_pool(max_workers: int | None = None) -> bool:
    """Allow the executor running the current thread up to ``max_workers`` threads
    (default: :func:`server_threads`).

    Returns whether it was found; elsewhere (a test calling the provider directly) nothing
    changes. Relies on CPython's executor passing a weak reference to itself to each worker.
    """
    if max_workers is None:
        max_workers = server_threads()
    worker_args = getattr(threading.current_thread(), "_args", ())
    if not worker_args or not isinstance(worker_args[0], weakref.ref):
        return False
    executor = worker_args[0]()
    if not isinstance(executor, ThreadPoolExecutor):
        return False
    with executor._shutdown_lock:
        executor._max_workers = max(executor._max_workers, max_workers)
        # Calls queued before the cap was lifted get a thread now rather than on the next call.
        for _ in range(executor._work_queue.qsize()):
            executor._adjust_thread_count()
    return True
