"""Constants the gateway tests share: two owners and their keys (see conftest.make_settings)."""

ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}
