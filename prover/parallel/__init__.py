"""Sharing one model among many search workers: Ray policy servers and request batching."""
