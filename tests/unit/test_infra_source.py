"""Where the integration and e2e servers come from (tests/support/infra.py): the
environment's URL, else containers where a Docker engine answers, else the local
default. The choice is judged with injected probes and a stand-in engine that answers
`/_ping` on a socket; the containers themselves need Docker, which CI here lacks."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import containers, infra

ROOT = Path(__file__).resolve().parents[2]


def never() -> bool:
    raise AssertionError("the Docker probe ran although a URL was set")


def test_a_url_in_the_environment_wins_without_probing_docker() -> None:
    assert infra.infra_source("amqp://elsewhere:5672/", never) == "env"


def test_containers_where_docker_answers_else_the_local_default() -> None:
    assert infra.infra_source(None, lambda: True) == "testcontainers"
    assert infra.infra_source(None, lambda: False) == "local"
    assert infra.infra_source("", lambda: False) == "local"  # an empty URL is no URL


def serve_once(listener: socket.socket, reply: bytes, asked: list[bytes] | None = None) -> None:
    """A stand-in engine: reads one request, records it in `asked`, answers `reply`."""
    asked = [] if asked is None else asked

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            asked.append(conn.recv(1024))
            conn.sendall(reply)

    threading.Thread(target=run, daemon=True).start()


@pytest.fixture
def unix_engine(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "docker.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    with listener:
        yield path, listener


def test_an_engine_on_the_default_socket_answers(unix_engine) -> None:
    path, listener = unix_engine
    asked: list[bytes] = []
    serve_once(listener, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", asked)
    assert infra.docker_answers(None, socket_path=path, timeout=10)
    assert asked[0].startswith(b"GET /_ping ")  # recorded before the answer was sent


def test_an_engine_named_by_docker_host_answers(unix_engine) -> None:
    path, listener = unix_engine
    serve_once(listener, b"HTTP/1.0 200 OK\r\n\r\nOK")
    assert infra.docker_answers(f"unix://{path}", socket_path="/nonexistent", timeout=10)


def test_a_tcp_engine_answers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        serve_once(listener, b"HTTP/1.1 200 OK\r\n\r\nOK")
        assert infra.docker_answers(f"tcp://127.0.0.1:{port}", timeout=10)


def test_an_engine_that_errs_or_is_not_there_does_not_count(unix_engine, tmp_path: Path) -> None:
    path, listener = unix_engine
    serve_once(listener, b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    assert not infra.docker_answers(None, socket_path=path, timeout=10)
    assert not infra.docker_answers(None, socket_path=str(tmp_path / "absent.sock"))
    assert not infra.docker_answers("ssh://user@host")  # not probed: counts as absent


def test_the_urls_follow_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infra, "_docker_answers", lambda: False)
    for name in ("RABBITMQ_URL", "MONGODB_URL", "TRADEBUS_BUS_MANAGEMENT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert infra.rabbitmq_url() == infra.DEFAULT_RABBITMQ_URL
    assert infra.mongodb_url() == infra.DEFAULT_MONGODB_URL
    assert infra.management_url() == infra.DEFAULT_MANAGEMENT_URL

    monkeypatch.setattr(infra, "_docker_answers", lambda: True)
    broker = containers.RabbitMQ(url="amqp://c:1/", management_url="http://c:2")
    monkeypatch.setattr(containers, "rabbitmq", lambda: broker)
    monkeypatch.setattr(containers, "mongodb_url", lambda: "mongodb://c:3/")
    assert infra.rabbitmq_url() == "amqp://c:1/"
    assert infra.management_url() == "http://c:2"
    assert infra.mongodb_url() == "mongodb://c:3/"
    from tests.support.infra import MANAGEMENT_URL

    assert MANAGEMENT_URL == "http://c:2"

    monkeypatch.setenv("RABBITMQ_URL", "amqp://env:5672/")
    monkeypatch.setenv("MONGODB_URL", "mongodb://env:27017/")
    assert infra.rabbitmq_url() == "amqp://env:5672/"
    assert infra.mongodb_url() == "mongodb://env:27017/"


def test_containers_run_the_images_the_stack_pins() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert containers.compose_image("rabbitmq") == services["rabbitmq"]["image"]
    assert containers.compose_image("mongo") == services["mongo"]["image"]


def test_testcontainers_is_imported_only_when_containers_start() -> None:
    probe = (
        "import sys; import tests.support.infra as i, tests.support.containers; "
        "i.rabbitmq_url(); i.mongodb_url(); i.management_url(); "
        "assert 'testcontainers' not in sys.modules and 'docker' not in sys.modules"
    )
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
