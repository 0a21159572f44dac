"""The plan compiled once from a validated scenario for the model (see issue 14)."""
