# dealbrain started for real (broker + MongoDB), for the Chinese ask journey.
from tests.integration.dealbrain.conftest import fault_server, start_dealbrain  # noqa: F401
