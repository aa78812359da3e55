"""Sending calls: the API client, submission, the journal, postbacks, status."""
