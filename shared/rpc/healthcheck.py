"""`python -m shared.rpc.healthcheck HOST:PORT [SERVICE]`: exit 0 when the gRPC service reports SERVING.

Used by container health checks, where no grpc_health_probe binary is available.
"""

from __future__ import annotations

import sys

import grpc

from shared.rpc.client import check_health, open_channel


def main(argv: list[str]) -> int:
    """Check a gRPC service's health (the container health check); 0 when it is serving."""
    if not 1 <= len(argv) <= 2:
        sys.stderr.write("usage: python -m shared.rpc.healthcheck HOST:PORT [SERVICE]\n")
        return 2
    channel = open_channel(argv[0])
    try:
        status = check_health(channel, argv[1] if len(argv) == 2 else "", timeout_s=3)
    except grpc.RpcError as exc:
        sys.stderr.write(f"{argv[0]}: {exc.code().name}\n")
        return 1
    finally:
        channel.close()
    sys.stdout.write(f"{argv[0]}: {status}\n")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
