"""Durable background work: a small generic worker loop over the job table."""
