"""SiteGuard camera."""
