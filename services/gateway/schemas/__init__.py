"""The gateway's HTTP response models, named and shaped like openai-python's types where OpenAI has the concept."""
