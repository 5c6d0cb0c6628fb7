"""Deadline workers: claim due deadlines and fire them through the service layer."""
