"""The Celery side of the benchmark: one no-op task, acks late, prefetch 100."""

from __future__ import annotations

import os
import signal
from typing import Any

from celery import Celery

from bench.bus.common import PREFETCH, URL

MAIN_PID = os.getpid()  # prefork children inherit it: they stop the main process


def make_app(queue: str, meter: Any = None) -> Celery:
    app = Celery("bench", broker=URL.replace("amqp://", "pyamqp://"))
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=PREFETCH,  # x concurrency 1 = prefetch 100
        task_default_queue=queue,
        task_serializer="json",
        broker_transport_options={"confirm_publish": True},
        worker_hijack_root_logger=False,
        task_ignore_result=True,
    )

    @app.task(name="bench.ping")
    def ping(n: int) -> None:
        if meter is not None and meter.tick():
            os.kill(MAIN_PID, signal.SIGTERM)  # warm shutdown once the last one is done

    return app
