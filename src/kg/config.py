"""One table of settings: name, default, help. It feeds the CLI flags, the ``KG_*``
environment variables and the manual (docs/configuration.md), so a setting is declared once.

Precedence: a flag given on the command line (or a key in the mapping passed to
``create_app``), then the environment variable ``KG_<NAME>``, then the default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from .version import __version__
from .errors import UsageError

#: The URLs of Wikidata's query service (the default SERVICE allowlist).
WIKIDATA_SERVICES = ("https://query.wikidata.org/sparql",
                     "https://query.wikidata.org/bigdata/namespace/wdq/sparql")
#: A User-Agent as Wikimedia's policy asks: name/version (contact URL).
USER_AGENT = (f"kg-fr-indopacific/{__version__} (https://w3id.org/fr-indopacific/; "
              "knowledge-graph linking tool)")


@dataclass(frozen=True)
class Setting:
    """One configurable value."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    #: Never shown: :meth:`Config.as_dict` prints it as ``***``.
    secret: bool = False

    @property
    def env_var(self) -> str:
        """The environment variable that sets it when no flag does."""
        return "KG_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The command-line flag that sets it."""
        return "--" + self.name.replace("_", "-")


def _optional_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def _url_map(value: str) -> dict[str, str]:
    """``IRI=URL`` pairs separated by spaces or commas, as the ``service_map`` setting is
    written.

    >>> _url_map("https://query.wikidata.org/sparql=http://127.0.0.1:7879/query")
    {'https://query.wikidata.org/sparql': 'http://127.0.0.1:7879/query'}
    """
    mapping = {}
    for pair in value.replace(",", " ").split():
        iri, sep, url = pair.partition("=")
        if not sep or not iri or not url:
            raise ValueError(f"{pair!r} is not IRI=URL")
        mapping[iri] = url
    return mapping


def _url_list(value: str) -> tuple[str, ...]:
    """URLs separated by spaces or commas; ``none`` for an empty list.

    >>> _url_list("none")
    ()
    """
    return () if value.strip().lower() == "none" else tuple(value.replace(",", " ").split())


def _search_mode(value: str) -> str:
    if value not in ("sparql", "api"):
        raise ValueError(f"{value!r}: choose sparql or api")
    return value


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def _graph_shapes(value: str) -> dict[str, tuple[Path, ...]]:
    """``IRI=FILE`` pairs (spaces or commas between pairs; an IRI named twice takes both
    files) as {graph IRI: shapes files}. The project's own graphs are refused: their
    shapes are the project's (``kg validate --shapes`` adds to those)."""
    from .namespaces import GRAPHS

    found: dict[str, tuple[Path, ...]] = {}
    for pair in value.replace(",", " ").split():
        iri, sep, path = pair.partition("=")
        if not sep or not path or ":" not in iri:
            raise ValueError(f"{pair!r}: write GRAPH-IRI=SHAPES-FILE")
        if iri in GRAPHS.values():
            raise ValueError(f"<{iri}> is one of the project's graphs; shapes of your own "
                             "apply to a graph of your own")
        found[iri] = found.get(iri, ()) + (Path(path).expanduser(),)
    return found


def _base_url(value: str) -> str:
    # one trailing slash, so that base_url + "id/dcsd" is always a well-formed URL
    return value.rstrip("/") + "/" if value else ""


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", None,
            "Directory of a persistent on-disk store. Unset: an in-memory store filled "
            "from the bundled files at every start.", _optional_path),
    Setting("store", "",
            "Query URL of a SPARQL 1.1 server to use as the store instead of the embedded "
            "one (e.g. http://localhost:7879/query); its default graph should be the union "
            "of its named graphs. Unset: the embedded store."),
    Setting("store_update", "",
            "Update URL of that server (e.g. http://localhost:7879/update). Unset: the "
            "query URL."),
    Setting("bundle_dir", None,
            "Directory holding the bundled ontology/ and data/ folders. Unset: the "
            "files shipped with the package.", _optional_path),
    # -- the SPARQL endpoint (`kg serve`) --------------------------------------------------
    Setting("host", "127.0.0.1", "Interface `kg serve` listens on (0.0.0.0: every one)."),
    Setting("port", 7878, "TCP port `kg serve` listens on.", int),
    Setting("base_url", "",
            "Public URL of the server, under which the canonical IRIs "
            "https://w3id.org/fr-indopacific/… resolve (e.g. the target of the w3id "
            "redirect). Unset: http://HOST:PORT/.", _base_url),
    Setting("timeout", 30.0, "Seconds a query may run before it is stopped (answer 503).",
            float),
    Setting("workers", 6,
            "Query workers: the threads of one query host, a process holding one copy of "
            "the data (in memory on Linux forked from the server, on disk on its own "
            "checkpoint of the store); a runaway query is stopped by ending that process. "
            "0: run queries in the server process, without timeouts.",
            int),
    Setting("heavy_queries", 3,
            "Most queries that may use more than heavy_after seconds of CPU at once; one "
            "more is stopped (503), so that the other workers stay free for short queries.",
            int),
    Setting("heavy_after", 1.0, "CPU seconds after which a query counts as heavy.", float),
    Setting("threads", 16, "Request threads of the server process.", int),
    Setting("client_requests", 8,
            "Most requests one client (IP address) may have in progress at once (429 "
            "beyond).", int),
    Setting("proxy_hops", 0,
            "Reverse proxies in front of the server whose X-Forwarded-For and "
            "X-Forwarded-Proto are trusted (0: none; the client is the connecting address).",
            int),
    Setting("max_query_length", 100_000, "Longest query accepted, in characters (413).", int),
    Setting("max_body_size", 1_048_576,
            "Largest request body accepted, in bytes (413, as soon as the limit is passed; "
            "chunked bodies are counted too).", int),
    Setting("max_header_size", 16_384,
            "Largest total size of the request headers, in bytes (431). The request line "
            "(URL) is limited to 8190 bytes (414): send longer queries with POST.", int),
    Setting("max_nesting", 100,
            "Deepest nesting of { ( [ accepted in a query (400): deeper input crashes the "
            "parser.", int),
    Setting("max_rows", 100_000,
            "Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) in one result (400 beyond).",
            int),
    Setting("cache_size", 64,
            "Megabytes of query answers kept for repeated queries (keyed by dataset version, "
            "query and format; a write empties it). 0: no cache.", int),
    # -- Wikidata: federation (SERVICE) and `kg link` ----------------------------------------
    Setting("service_allowlist", WIKIDATA_SERVICES,
            "SERVICE endpoints a query may call (URLs separated by spaces or commas; "
            "`none`: no federation). Their hosts must resolve to public addresses.",
            _url_list),
    Setting("service_map", {},
            "IRI=URL pairs (spaces or commas between pairs): a SERVICE to IRI calls URL "
            "instead, e.g. a Wikidata mirror or a local stand-in; the only way to point a "
            "SERVICE at a loopback or private address.", _url_map),
    Setting("wikidata_endpoint", WIKIDATA_SERVICES[0],
            "SPARQL endpoint `kg link` checks links against and takes the snapshot from."),
    Setting("wikidata_api", "https://www.wikidata.org/w/api.php",
            "MediaWiki API `kg link --suggest` searches with when link_search is api."),
    Setting("link_search", "sparql",
            "How `kg link --suggest` finds candidates: sparql (labels and aliases on the "
            "endpoint) or api (wbsearchentities on wikidata_api).", _search_mode),
    Setting("user_agent", USER_AGENT,
            "User-Agent of the requests `kg link` sends (Wikimedia asks for a contact)."),
    # -- writes (SPARQL Update, Graph Store Protocol, review queue) ---------------------------
    Setting("update_token", "",
            "Bearer token(s) that enable writes: TOKEN, or NAME:TOKEN pairs separated by "
            "commas (the change log records the NAME). Unset: the endpoint is read-only.",
            str, secret=True),
    Setting("update_token_file", None,
            "File holding bearer tokens, one TOKEN or NAME:TOKEN per line (# comments), read "
            "at start; safer than a flag, which other users of the machine see in `ps`.",
            _optional_path),
    Setting("backup_dir", None,
            "Folder where POST /backup writes backups of the on-disk store (with a token). "
            "Unset: the route answers 404.", _optional_path),
    Setting("allow_curated_writes", False,
            "Let writes change the curated graphs (ontology, fact sheet, Wikidata snapshot). "
            "Unset: they are refused (403) and additions go to the user graph.", _flag),
    Setting("write_niceness", 5,
            "Scheduling priority lowered by this much (nice) for the thread that validates "
            "and applies writes, so that reads go first on a busy machine; 0: as every "
            "thread.", int),
    Setting("load_allowlist", (),
            "Hosts (name or name:port, comma-separated) SPARQL LOAD may fetch from over "
            "HTTP(S). Empty: LOAD is refused; file: URLs always are.", _names),
    # -- validation ---------------------------------------------------------------------------
    Setting("graph_shapes", {},
            "IRI=FILE pairs (spaces or commas between pairs; an IRI may take several files): "
            "a named graph of your own and your SHACL shapes (Turtle) for it. "
            "POST /validate?graph=IRI and the writes to that graph are validated against "
            "those shapes only, on that graph only; the project's shapes and checks leave it "
            "out. Read at start. Also read by `kg validate --graph IRI`.", _graph_shapes),
)


@dataclass(frozen=True)
class Config:
    """The resolved settings, immutable once built."""

    data_dir: Path | None = None
    store: str = ""
    store_update: str = ""
    bundle_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 7878
    base_url: str = ""
    timeout: float = 30.0
    workers: int = 6
    heavy_queries: int = 3
    heavy_after: float = 1.0
    threads: int = 16
    client_requests: int = 8
    proxy_hops: int = 0
    max_query_length: int = 100_000
    max_body_size: int = 1_048_576
    max_header_size: int = 16_384
    max_nesting: int = 100
    max_rows: int = 100_000
    cache_size: int = 64
    service_allowlist: tuple[str, ...] = WIKIDATA_SERVICES
    service_map: Mapping[str, str] = field(default_factory=dict)
    wikidata_endpoint: str = WIKIDATA_SERVICES[0]
    wikidata_api: str = "https://www.wikidata.org/w/api.php"
    link_search: str = "sparql"
    user_agent: str = USER_AGENT
    update_token: str = field(default="", repr=False)
    update_token_file: Path | None = None
    backup_dir: Path | None = None
    allow_curated_writes: bool = False
    write_niceness: int = 5
    load_allowlist: tuple[str, ...] = ()
    graph_shapes: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> "Config":
        """Resolve every setting: ``overrides`` (flags), then ``KG_*`` variables, then defaults.

        Overrides whose value is None count as not given.

        >>> Config.load({"data_dir": None}, environ={"KG_DATA_DIR": "/tmp/x"}).data_dir
        PosixPath('/tmp/x')
        """
        environ = os.environ if environ is None else environ
        overrides = dict(overrides or {})
        unknown = set(overrides) - {setting.name for setting in SETTINGS}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = {}
        for setting in SETTINGS:
            try:
                if overrides.get(setting.name) is not None:
                    value = overrides[setting.name]
                    values[setting.name] = (setting.parse(value) if isinstance(value, str)
                                            else value)
                elif environ.get(setting.env_var):
                    values[setting.name] = setting.parse(environ[setting.env_var])
                else:
                    values[setting.name] = setting.default
            except ValueError as exc:
                raise UsageError(f"{setting.flag} / {setting.env_var}: {exc}") from None
        return cls(**values)

    @property
    def public_url(self) -> str:
        """The URL this server answers at, with a trailing slash.

        >>> Config(port=9000).public_url
        'http://127.0.0.1:9000/'
        """
        if self.base_url:
            return self.base_url
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}/"

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values, for display; secrets (tokens) as ``***``.

        >>> Config(update_token="alice:s3cret").as_dict()["update_token"]
        '***'
        """
        secret = {setting.name for setting in SETTINGS if setting.secret}
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: "***" if name in secret and value else value
                for name, value in shown.items()}
