"""bench-online: latency of the online path (gateway → RabbitMQ RPC → server)."""
