"""Adapters to what a marketplace already runs: webhooks, an event stream, a payment provider,
object storage. Each sits behind a small interface with a default that needs nothing installed."""
