"""What the controller does, one module per area: plain functions over a database session and
what they need (ledger, edge channel, settings), raising the refusals of domain_errors.

Routers parse, authorize and call these; the CLI calls them too. Three helpers every area
shares: ``scope.customer_scope`` (what a user may see), ``sites.site_or_404`` and
``edge.send_to_edge``.
"""
