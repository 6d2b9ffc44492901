"""The chaos tier reuses the messaging fixtures (buses on the real broker, each test in a
vhost of its own)."""

from tests.integration.conftest import vhost
from tests.integration.messaging.conftest import amqp, make_bus, rabbitmq_url

__all__ = ["amqp", "make_bus", "rabbitmq_url", "vhost"]
