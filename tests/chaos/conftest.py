"""The chaos tier reuses the messaging fixtures (buses on the real broker)."""

from tests.integration.messaging.conftest import amqp, make_bus, rabbitmq_url

__all__ = ["amqp", "make_bus", "rabbitmq_url"]
