"""Experiments on the training method: synthetic corpora and the settings they were tuned with."""
