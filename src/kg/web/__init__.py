"""The HTTP layer, the flaskr way: the app factory (:mod:`.app`), what an app owns and its
accessors (:mod:`.extensions`), the one error handler (:mod:`.errors`), the headers of every
answer (:mod:`.headers`), the limits every request meets (:mod:`.limits`), the table of
routes (:mod:`.routes`), one blueprint per protocol or page group, and the HTTP server
(:mod:`.server`, granian). What the pages show is gathered in :mod:`kg.web.content`,
without Flask, and read through the query engine."""
