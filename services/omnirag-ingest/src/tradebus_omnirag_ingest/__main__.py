from tradebus_messaging.runner import main

from .app import SERVICE, build
from .settings import OmniragIngestSettings

if __name__ == "__main__":
    settings = OmniragIngestSettings()
    main(SERVICE, lambda: build(settings), settings)
