"""A manhole: a Python prompt into a running server, served over SSH (work in progress)."""
