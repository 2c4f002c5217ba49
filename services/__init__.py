"""The services of the stack: scorer, trainer, inference and the HTTP gateway."""
