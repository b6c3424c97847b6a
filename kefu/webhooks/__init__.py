"""Outgoing webhooks: admin-managed endpoints, signed per Standard Webhooks, sent by jobs."""
