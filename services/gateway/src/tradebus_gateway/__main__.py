import uvicorn

from tradebus_observability import configure_logging

from .app import create_app
from .settings import GatewaySettings

if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level, json=settings.log_json)
    # uvicorn handles SIGTERM: stops accepting, finishes requests, runs the lifespan exit.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
