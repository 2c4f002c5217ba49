"""Code every service shares: settings, logging, typed errors, storage, Redis, gRPC plumbing and contracts."""
