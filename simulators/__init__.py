"""SiteGuard simulators."""
