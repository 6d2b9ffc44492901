from tradebus_messaging.runner import main

from .app import SERVICE, build
from .settings import OmniragEmbedSettings

if __name__ == "__main__":
    settings = OmniragEmbedSettings()
    main(SERVICE, lambda: build(settings), settings)
