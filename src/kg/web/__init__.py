"""The Flask app: the app factory (``kg.web.app.create_app``), the HTTP server (granian), request
limits, one blueprint per protocol or page group and the helpers they share; what the pages
show is gathered in :mod:`kg.web.content`, without Flask."""
