from __future__ import annotations

import pytest

from services.gateway.config import GatewaySettings
from services.scorer.config import ScorerSettings
from shared.errors import ConfigError
from shared.settings import load_settings


def test_development_fills_storage_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISTRUST_STORAGE_ACCESS_KEY", raising=False)
    monkeypatch.setenv("DISTRUST_SCORER_PORT", "6001")
    settings = load_settings(ScorerSettings)
    assert settings.port == 6001 and settings.storage.access_key is not None


def test_production_without_a_secret_stops_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTRUST_ENV", "production")
    monkeypatch.setenv("DISTRUST_STORAGE_ACCESS_KEY", "ak")
    monkeypatch.delenv("DISTRUST_STORAGE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="DISTRUST_STORAGE_SECRET_KEY") as info:
        load_settings(ScorerSettings)
    assert info.value.param == "DISTRUST_STORAGE_SECRET_KEY"


def test_gateway_needs_api_keys_and_parses_both_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISTRUST_GATEWAY_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match="DISTRUST_GATEWAY_API_KEYS"):
        load_settings(GatewaySettings)
    assert load_settings(GatewaySettings, api_keys="k1=alice, k2=bob").key_owners() == {"k1": "alice", "k2": "bob"}
    assert load_settings(GatewaySettings, api_keys='{"k": "carol"}').key_owners() == {"k": "carol"}
    with pytest.raises(ConfigError, match="key=owner"):
        load_settings(GatewaySettings, api_keys="just-a-key")


def test_bad_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTRUST_SCORER_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="port"):
        load_settings(ScorerSettings)
