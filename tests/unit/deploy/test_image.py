"""The Dockerfile, read as Docker reads it: every stage from one exact, pinned base
release; the image's /venv gets runtime.lock only (the local model only when asked
for), never a dev or bench pin; the build backend's pins are the locks' own."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.unit.deploy.lockfiles import canonical, closure_of, pins

ROOT = Path(__file__).resolve().parents[3]
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm$")
VENV_INSTALLS = {
    "/venv/bin/pip install -r requirements/runtime.lock",
    "/venv/bin/pip install --no-deps /wheels/*.whl",
}
LOCAL_MODEL_GUARD = 'if [ "$LOCAL_MODEL" = "1" ]; then'


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


def arg_defaults(steps: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for word, rest in steps:
        if word == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            found[name] = value.strip('"')
    return found


def base_images(steps: list[tuple[str, str]]) -> list[str]:
    """The external image of every FROM (a FROM naming an earlier stage is not one)."""
    # Only ARGs before the first FROM are in scope for FROM lines.
    first = next(i for i, (word, _) in enumerate(steps) if word == "FROM")
    scope = arg_defaults(steps[:first])
    stages: set[str] = set()
    images = []
    for word, rest in steps:
        if word != "FROM":
            continue
        image, *alias = rest.split(" AS ") if " AS " in rest else rest.split(" as ")
        image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: scope[m.group(1) or m.group(2)], image)
        if image not in stages:
            images.append(image)
        stages.update(a.strip() for a in alias)
    return images


def test_every_stage_starts_from_one_pinned_base_release() -> None:
    images = base_images(dockerfile())
    assert len(images) >= 2  # the build stages and the runtime stage
    assert len(set(images)) == 1, images
    assert PINNED_BASE.match(images[0]), images[0]


def test_the_pin_check_catches_a_floating_tag() -> None:
    steps = instructions("ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE} AS deps\n")
    assert not PINNED_BASE.match(base_images(steps)[0])
    mixed = instructions("FROM python:3.11.14-slim-bookworm AS a\nFROM python:3.11-slim\n")
    assert len(set(base_images(mixed))) == 2


def test_only_runtime_and_local_model_pins_are_copied_in() -> None:
    text = (ROOT / "Dockerfile").read_text()
    named = set(re.findall(r"requirements/[\w.-]+", text))
    assert named == {"requirements/runtime.lock", "requirements/local-model.lock"}


def test_the_venv_gets_runtime_pins_and_the_local_model_only_on_request() -> None:
    steps = dockerfile()
    assert arg_defaults(steps)["LOCAL_MODEL"] == "0"
    for word, rest in steps:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            command = command.strip()
            if not command.startswith("/venv/bin/pip install"):
                continue
            if command in VENV_INSTALLS:
                continue
            # Anything else installs the local model, and only behind its build arg.
            assert rest.startswith(LOCAL_MODEL_GUARD), rest
            assert "local-model.lock" in rest or "torch==" in rest, command


def test_the_build_backend_is_pinned_as_the_locks_pin_it() -> None:
    backend = shlex.split(arg_defaults(dockerfile())["BUILD_BACKEND"])
    locked = pins("runtime") | pins("dev")
    named = {}
    for pin in backend:
        name, _, version = pin.partition("==")
        assert version, f"unpinned {pin}"
        named[canonical(name)] = version
        assert locked.get(canonical(name)) == version, (
            f"{pin}: the locks pin {locked.get(canonical(name))}"
        )
    # Everything hatchling needs to build, so `pip install $BUILD_BACKEND` takes no
    # unpinned package.
    assert closure_of(["hatchling"]) <= set(named)


def test_no_service_installs_anything_at_start() -> None:
    """The runtime stage copies the built venv; it runs no pip."""
    steps = dockerfile()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    runtime = steps[last_from:]
    assert ("COPY", "--from=build /venv /venv") in runtime
    assert not [rest for word, rest in runtime if word == "RUN" and "pip" in rest]
