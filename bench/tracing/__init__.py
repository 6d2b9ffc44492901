"""The bus's tracing hooks, per message: `python -m bench.tracing`."""
