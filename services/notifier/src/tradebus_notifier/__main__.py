from tradebus_messaging.runner import main

from .app import SERVICE, build
from .settings import NotifierSettings

if __name__ == "__main__":
    settings = NotifierSettings()
    main(SERVICE, lambda: build(settings), settings)
