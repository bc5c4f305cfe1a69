"""The central service: API, database, policy, pages."""
