"""Which providers a service uses, from the environment. Each downstream's budget
(concurrency, timeouts, retries, breaker) is separate: `DownstreamSettings.load("llm")`
reads the same `TRADEBUS_LLM_` prefix, and both ignore each other's keys."""

from __future__ import annotations

import re
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def _check_url(url: str, variable: str, *, api_root: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{variable} must be an http(s) URL, got {url!r}")
    if api_root and parts.path.rstrip("/").endswith("/v1"):
        raise ValueError(
            f"{variable} is the server root without /v1 (the client appends /v1/...), got {url!r}"
        )
    return url.rstrip("/")


def _missing(settings: BaseSettings, prefix: str, provider: str, *fields: str) -> None:
    absent = [f"{prefix}{f.upper()}" for f in fields if not getattr(settings, f)]
    if absent:
        raise ValueError(f"{prefix}PROVIDER={provider} needs {' and '.join(absent)}")


class LLMSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_LLM_", extra="ignore")

    provider: Literal["extractive", "openai"] = "extractive"
    base_url: str | None = None  # an OpenAI-compatible server's root, e.g. https://api.openai.com
    api_key: SecretStr | None = None  # optional: self-hosted servers often need none
    model: str | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, "TRADEBUS_LLM_BASE_URL", api_root=True)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.provider == "openai":
            _missing(self, "TRADEBUS_LLM_", self.provider, "base_url", "model")
        return self


class RerankSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_RERANK_", extra="ignore")

    provider: Literal["bm25", "http"] = "bm25"
    base_url: str | None = None  # a Cohere/Jina-compatible server's root
    api_key: SecretStr | None = None
    model: str | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _check_url(value, "TRADEBUS_RERANK_BASE_URL", api_root=True)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.provider == "http":
            _missing(self, "TRADEBUS_RERANK_", self.provider, "base_url", "model")
        return self


class SearchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_SEARCH_", extra="ignore")

    # name -> SearXNG base URL, as JSON: TRADEBUS_SEARCH_ENDPOINTS='{"web": "http://searx:8080"}'.
    # Each name gets its own budget from TRADEBUS_SEARCH_<NAME>_*.
    endpoints: dict[str, str] = {}
    api_key: SecretStr | None = None

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENDPOINT_NAME.match(name):
                raise ValueError(
                    f"TRADEBUS_SEARCH_ENDPOINTS: name {name!r} must be letters, digits, _ or - "
                    "(it becomes part of the TRADEBUS_SEARCH_<NAME>_* budget variables)"
                )
        return {
            name: _check_url(url, f"TRADEBUS_SEARCH_ENDPOINTS[{name!r}]", api_root=False)
            for name, url in value.items()
        }
