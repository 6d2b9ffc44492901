from tradebus_messaging.runner import main

from .app import SERVICE, build
from .settings import ShadowhunterSettings

if __name__ == "__main__":
    settings = ShadowhunterSettings()
    main(SERVICE, lambda: build(settings), settings)
