"""The API key verbs: `keys create|list|revoke` (an admin-scoped key; the gateway stores only a hash)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from cli.output import console, fail
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.keys import SCOPES, ApiKey, ApiKeyDeleted, CreatedApiKey
from shared.errors import DistrustError

app = typer.Typer()
keys_app = typer.Typer(help="API keys with scopes (needs an admin key).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: str = typer.Argument(..., help="What the key is for"),
    scope: list[str] = typer.Option(
        ["inference", "training", "files"], "--scope", "-s", help=f"Repeat for each: {', '.join(SCOPES)}"
    ),
    owner: str | None = typer.Option(None, help="Whose resources the key acts on (default: yours)"),
) -> None:
    """Create a key; its secret is printed this once and stored nowhere."""
    from cli.client import GatewayClient

    body = {"name": name, "scopes": scope, **({"owner": owner} if owner else {})}
    try:
        created = GatewayClient.from_env().fetch(CreatedApiKey, "POST", "/v1/api_keys", json=body)
    except DistrustError as exc:
        raise fail(exc) from None
    console.print(f"{created.id} for {created.owner} ({', '.join(created.scopes)}). Its secret, shown once:")
    console.print(created.value, soft_wrap=True, highlight=False)


@keys_app.command("list")
def keys_list(owner: str | None = typer.Option(None, help="Only this owner's keys")) -> None:
    """The managed keys, newest first (no secrets)."""
    from cli.client import GatewayClient

    try:
        listed = GatewayClient.from_env().fetch(
            ListResponse[ApiKey], "GET", "/v1/api_keys", params={"owner": owner} if owner else {}
        )
    except DistrustError as exc:
        raise fail(exc) from None
    table = Table()
    for column in ("id", "name", "owner", "scopes", "created", "last used", "key"):
        table.add_column(column, no_wrap=column in ("id", "key"))
    for key in listed.data:
        table.add_row(
            key.id,
            key.name,
            key.owner,
            ",".join(key.scopes),
            _when(key.created_at),
            _when(key.last_used_at),
            key.redacted_value,
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key's id (key_…)")) -> None:
    """Revoke a key: every gateway replica refuses it within a second."""
    from cli.client import GatewayClient

    try:
        GatewayClient.from_env().fetch(ApiKeyDeleted, "DELETE", f"/v1/api_keys/{key_id}")
    except DistrustError as exc:
        raise fail(exc) from None
    console.print(f"revoked {key_id}")


def _when(stamp: int | None) -> str:
    return "-" if stamp is None else datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M")
