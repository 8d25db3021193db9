"""Shared plumbing of the platform's services: nothing service-specific lives here."""
