"""Who may write: bearer tokens, compared in constant time, never taken from a URL.

The ``update_token`` setting holds one token, or ``NAME:TOKEN`` pairs separated by commas;
a bare token is named ``token``. The name (never the token) goes to the change log.

>>> creds = parse_tokens("alice:s3cret, bob:hunter2")
>>> authenticate("Bearer hunter2", creds)
'bob'
>>> [c.name for c in creds], "s3cret" in repr(creds)
(['alice', 'bob'], False)
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from typing import Iterable

from ..errors import ReadOnlyError, UnauthorizedError, UsageError

#: URL parameters that carry credentials in some APIs; refused here, whatever their value.
CREDENTIAL_PARAMETERS = frozenset({"access_token", "token", "update_token", "update-token",
                                   "bearer", "auth", "authorization", "api_key", "apikey",
                                   "key", "password"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PARAMETER = re.compile(r"([?&;]|^)([^=&;\s?]+)=([^&;\s]*)")


@dataclass(frozen=True)
class Credential:
    """A named token (the token itself stays out of reprs and logs)."""

    name: str
    token: str = field(repr=False)


def parse_tokens(value: str) -> tuple[Credential, ...]:
    """The credentials of an ``update_token`` setting (see the module docstring)."""
    credentials = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, sep, token = part.partition(":")
        if not sep:
            name, token = "token", part
        if not _NAME.fullmatch(name) or not token:
            raise UsageError("--update-token / KG_UPDATE_TOKEN: each entry is TOKEN or "
                             "NAME:TOKEN, NAME being letters, digits, '.', '_' or '-'")
        if any(c.name == name for c in credentials):
            raise UsageError(f"--update-token / KG_UPDATE_TOKEN: the name {name!r} is given twice")
        credentials.append(Credential(name, token))
    return tuple(credentials)


def load_credentials(config) -> tuple[Credential, ...]:
    """The named tokens of a :class:`kg.config.Config`: its ``update_token`` and the lines of
    its ``update_token_file``. A file that cannot be read, or a malformed entry, is a
    UsageError (the server does not start)."""
    entries = [config.update_token] if config.update_token else []
    path = config.update_token_file
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--update-token-file: cannot read {path}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
        entries += [line.strip() for line in lines
                    if line.strip() and not line.lstrip().startswith("#")]
    return parse_tokens(",".join(entries))


def _matching(presented: str, credentials: Iterable[Credential]) -> str | None:
    # every credential is compared, in constant time, so timing tells nothing about which
    found = None
    for credential in credentials:
        if hmac.compare_digest(presented.encode(), credential.token.encode()):
            found = credential.name
    return found


def refuse_url_credentials(parameters: Iterable[tuple[str, str]],
                           credentials: Iterable[Credential]) -> None:
    """Refuse (401) a request whose URL carries a credential: by name, or a token's value."""
    credentials = tuple(credentials)
    for name, value in parameters:
        if name.lower() in CREDENTIAL_PARAMETERS or (value and _matching(value, credentials)):
            raise UnauthorizedError(
                "credentials are not accepted in the URL (URLs end up in logs and histories); "
                "send the header Authorization: Bearer TOKEN", invalid=True)


def authenticate(header: str | None, credentials: tuple[Credential, ...]) -> str:
    """The name of the credential an ``Authorization`` header presents.

    Raises ReadOnlyError (403) when no token is configured, UnauthorizedError (401) when
    the header is missing, not ``Bearer``, or presents an unknown token.
    """
    if not credentials:
        raise ReadOnlyError("this endpoint is read-only: writes are enabled by starting the "
                            "server with --update-token (or KG_UPDATE_TOKEN)")
    scheme, _, presented = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise UnauthorizedError("writing needs the header Authorization: Bearer TOKEN")
    name = _matching(presented.strip(), credentials)
    if name is None:
        raise UnauthorizedError("the bearer token is not valid", invalid=True)
    return name


def redact(text: str, credentials: Iterable[Credential]) -> str:
    """``text`` (a URL, a request line) with credential parameters and token values as ***.

    >>> redact("POST /sparql?access_token=abc&x=s3cret&y=1 HTTP/1.1",
    ...        [Credential("alice", "s3cret")])
    'POST /sparql?access_token=***&x=***&y=1 HTTP/1.1'
    """
    from urllib.parse import unquote_plus

    credentials = tuple(credentials)
    # a character takes at most 12 in a URL (4 UTF-8 bytes, %XX each): a longer value (a
    # query, on every request of the access log) cannot be a token and is not decoded
    longest = 12 * max((len(credential.token) for credential in credentials), default=0)

    def hide(match: re.Match) -> str:
        raw = match.group(3)
        if unquote_plus(match.group(2)).lower() in CREDENTIAL_PARAMETERS or (
                raw and len(raw) <= longest and _matching(unquote_plus(raw), credentials)):
            return f"{match.group(1)}{match.group(2)}=***"
        return match.group(0)

    return _PARAMETER.sub(hide, text)
