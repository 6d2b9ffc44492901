from tradebus_messaging.runner import main

from .app import SERVICE, build
from .settings import DealbrainSettings

if __name__ == "__main__":
    settings = DealbrainSettings()
    main(SERVICE, lambda: build(settings), settings)
