"""SiteGuard access_control."""
