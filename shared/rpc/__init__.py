"""gRPC plumbing shared by the services: error mapping, server bootstrap, client channels."""
