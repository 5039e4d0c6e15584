"""Exceptions of the core, each carrying the HTTP status and CLI exit code it maps to.

The core raises these; only the edges (the CLI and the Flask error handler) turn them
into exit codes or HTTP responses.
"""

from __future__ import annotations

#: Exit codes of the ``kg`` command (documented in docs/querying.md, under the ``kg`` command).
EXIT_OK = 0
EXIT_FAILURE = 1  # a query or validation failure
EXIT_USAGE = 2  # bad usage or unreadable input
EXIT_REMOTE = 3  # a remote endpoint (SERVICE, Wikidata) could not be queried


class KGError(Exception):
    """Base class of every error the core reports to a user."""

    status = 500
    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(KGError):
    """A request that cannot be carried out as asked (wrong option, wrong format, …)."""

    status = 400
    exit_code = EXIT_USAGE


class InputSyntaxError(KGError):
    """RDF input that does not parse; keeps where the error is."""

    status = 400
    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, source: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.source = source
        self.line = line
        self.column = column
        location = ":".join(str(part) for part in (source, line, column) if part is not None)
        super().__init__(f"{location}: {message}")


class UnreadableInputError(KGError):
    """A file that cannot be opened or whose format cannot be told."""

    status = 400
    exit_code = EXIT_USAGE


class QuerySyntaxError(KGError):
    """A SPARQL query or update that does not parse; keeps the parser's position."""

    status = 400
    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, line: int | None = None,
                 column: int | None = None) -> None:
        self.line = line
        self.column = column
        super().__init__(message)


class QueryEvaluationError(KGError):
    """A query that parsed but failed while it was evaluated (e.g. an unknown function)."""

    status = 400
    exit_code = EXIT_FAILURE


class NotAcceptableError(KGError):
    """No serialisation fits what the client accepts."""

    status = 406
    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, available: list[str]) -> None:
        self.available = available
        super().__init__(f"{message}; available: {', '.join(available)}")


class StoreError(KGError):
    """The store could not be opened or written (disk, lock, corruption)."""

    status = 500
    exit_code = EXIT_FAILURE


# -- errors of the SPARQL endpoint -------------------------------------------------------------

class ReadOnlyError(KGError):
    """A write (SPARQL Update, Graph Store request) while writes are disabled (no token)."""

    status = 403


class UnauthorizedError(KGError):
    """A write without valid credentials (``Authorization: Bearer …``)."""

    status = 401

    def __init__(self, message: str, *, invalid: bool = False) -> None:
        super().__init__(message)
        error = ', error="invalid_token"' if invalid else ""
        #: Headers the HTTP answer carries (RFC 6750: the scheme the client must use).
        self.http_headers = {"WWW-Authenticate": f'Bearer realm="kg"{error}'}


class ProtectedGraphError(KGError):
    """A write to a curated graph (without the setting that allows it) or a server graph."""

    status = 403


class ValidationFailedError(KGError):
    """A change the shapes reject; carries the validation result (its report)."""

    status = 422
    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, result, delta=None) -> None:
        super().__init__(message)
        #: The :class:`kg.validation.validate.ValidationResult` of the change.
        self.result = result
        #: The refused :class:`kg.delta.Delta` (for the labels of its new nodes).
        self.delta = delta


class ForbiddenFeatureError(KGError):
    """A query using a feature refused for safety (SERVICE, LOAD: they fetch URLs)."""

    status = 400


class LoadRefusedError(KGError):
    """A SPARQL ``LOAD`` of a URL the server may not fetch (file:, a host not allowed)."""

    status = 403


class QueryTooComplexError(KGError):
    """A query nested deeper than the parser can take without crashing."""

    status = 400


class TooLargeError(KGError):
    """A request body or query longer than the configured limit."""

    status = 413


class ResultTooLargeError(KGError):
    """A result with more rows than the configured limit; a LIMIT clause avoids it."""

    status = 400


class UnsupportedMediaTypeError(KGError):
    """A request body in a media type the route does not take."""

    status = 415


class NotFoundError(KGError):
    """No resource with this IRI or path."""

    status = 404


class QueryTimeoutError(KGError):
    """A query stopped at the deadline (or no query worker free before it)."""

    status = 503


class RemoteServiceError(KGError):
    """A SERVICE endpoint that could not be queried (refused, redirected, bad answer)."""

    status = 502
    exit_code = EXIT_REMOTE


class BusyError(KGError):
    """The endpoint is too busy to take this request now (retry later)."""

    status = 503
    #: Headers the HTTP answer carries.
    http_headers = {"Retry-After": "5"}


class TooManyRequestsError(KGError):
    """A client with more requests in progress than it may have at once."""

    status = 429
    http_headers = {"Retry-After": "1"}


class HeadersTooLargeError(KGError):
    """Request headers larger than the configured limit."""

    status = 431


class URITooLongError(KGError):
    """A request line (URL) longer than the server reads."""

    status = 414


class EngineError(KGError):
    """The query engine failed (a worker process crashed or answered nonsense)."""

    status = 500
