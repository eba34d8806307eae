"""Web interface: HTTP routes, templates and static assets."""
