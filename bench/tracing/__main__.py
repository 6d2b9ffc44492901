"""What the bus's tracing hooks cost per message, in process (`python -m bench.tracing`).

Each message takes the path the runtime gives it: a publish span and its envelope, the
CloudEvents headers written and read back, the delivery's process span around a trivial
handler. Three ways: no hooks at all (the floor), tracing off (no provider: the default),
tracing on (the SDK with a batch processor whose exporter drops everything). Rounds
interleave the three; the median round counts. Compare with bench-bus's CPU per message
(about 100 µs for the tradebus runtime on this machine). CPU time of this process, so
the load of other processes on the machine moves it less than wall time."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tradebus_contracts import Envelope
from tradebus_messaging import tracing


class Dropped(SpanExporter):
    def export(self, spans: Sequence[object]) -> SpanExportResult:  # type: ignore[override]
        return SpanExportResult.SUCCESS


def without_hooks(envelope: Envelope) -> None:
    Envelope.from_headers(envelope.to_headers())


def with_hooks(envelope: Envelope) -> None:
    sent, scope = tracing.send_span(envelope, exchange="tradebus.commands", routing_key="a.b.c")
    scope.finish()
    received = Envelope.from_headers(sent.to_headers())
    with tracing.process_span(received, queue="svc.handler", attempt=1):
        pass


def per_message_us(path: Callable[[Envelope], None], n: int) -> float:
    envelope = Envelope(type="a.b.c.v1", source="bench", tenant_id="t")
    started = time.process_time()
    for _ in range(n):
        path(envelope)
    return (time.process_time() - started) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    rows: dict[str, list[float]] = {"no hooks": [], "tracing off": [], "tracing on": []}
    for _ in range(args.rounds):
        rows["no hooks"].append(per_message_us(without_hooks, args.messages))
        rows["tracing off"].append(per_message_us(with_hooks, args.messages))
        # Installed for this line only, then removed again: the next round starts off.
        trace._TRACER_PROVIDER = provider
        rows["tracing on"].append(per_message_us(with_hooks, args.messages))
        trace._TRACER_PROVIDER = None
    provider.shutdown()
    floor = statistics.median(rows["no hooks"])
    print(f"{args.messages:,} messages, median of {args.rounds} interleaved rounds")
    print("| path | CPU µs / message | added by tracing |")
    print("| --- | ---: | ---: |")
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {median - floor:+.2f} µs |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
