"""SiteGuard network_policy."""
