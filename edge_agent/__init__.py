"""The site daemon: composes cameras, gates, network policy and retention on the appliance."""
