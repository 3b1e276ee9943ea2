"""Bearer tokens (JWT, HS256) and the role and site rules of the contract."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from domain.commands import Actor
from domain.errors import Forbidden, TrialError
from domain.vocabulary import Role

ALGORITHM = "HS256"
SITE_ROLES = frozenset({Role.SITE_STAFF, Role.INVESTIGATOR})
MAX_CLAIM_LENGTH = 200
PII_ROLES = frozenset({Role.SITE_STAFF, Role.INVESTIGATOR, Role.MONITOR, Role.AUDITOR})


class Unauthenticated(TrialError):
    """No token, or an expired, wrongly signed or unsigned one."""

    code = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Principal:
    """The caller of one request: who, which role, and which sites it may see (None = all)."""

    user_id: str
    role: Role
    sites: frozenset[str] | None

    @property
    def actor(self) -> Actor:
        site = None if self.sites is None else ",".join(sorted(self.sites))
        return Actor(self.user_id, self.role, site)

    @property
    def sees_pii(self) -> bool:
        return self.role in PII_ROLES

    def can_read(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    def check_read(self, site: str) -> None:
        if not self.can_read(site):
            raise Forbidden(
                "OWN_SITE", f"a {self.role.value} of {self.site_list} may not read {site}"
            )

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise Forbidden("ROLE", f"only {allowed} may do this; the caller is {self.role.value}")

    @property
    def site_list(self) -> str:
        return "every site" if self.sites is None else ", ".join(sorted(self.sites))


def issue_token(
    secret: str,
    role: Role,
    *,
    subject: str,
    site: str | None = None,
    lifetime: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> str:
    """A signed token for ``role`` (``trial token`` and the tests use this)."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
    }
    if site is not None:
        claims["site"] = site
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def principal_from_header(authorization: str | None, secret: str) -> Principal:
    """Verify ``Authorization: Bearer <JWT>`` and return its principal.

    A token verified once is remembered (by its text and the secret) until it expires: a
    client sends the same token with every request, and verifying its signature and claims
    cost more CPU than a command's own work. Nothing else makes a valid token invalid before
    its ``exp`` (there is no revocation list); a refused token is never remembered."""
    if not authorization:
        raise Unauthenticated("TOKEN", "no bearer token; send 'Authorization: Bearer <JWT>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("TOKEN", "the Authorization header is not 'Bearer <JWT>'")
    token = token.strip()
    remembered = _verified.get((token, secret))
    if remembered is not None and time.time() < remembered[1]:
        return remembered[0]
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("TOKEN", "the token has expired") from error
    except jwt.InvalidTokenError as error:
        raise Unauthenticated("TOKEN", f"the token is not valid: {error}") from error
    principal = principal_from_claims(claims)
    with _verified_lock:
        _verified[token, secret] = (principal, float(claims["exp"]))
        while len(_verified) > VERIFIED_TOKENS:
            del _verified[next(iter(_verified))]
    return principal


VERIFIED_TOKENS = 1024
_verified: dict[tuple[str, str], tuple[Principal, float]] = {}  # oldest first
_verified_lock = threading.Lock()


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    try:
        role = Role(claims["role"])
    except ValueError as error:
        raise Unauthenticated("TOKEN", f"unknown role {claims['role']!r}") from error
    sites = _sites(claims.get("site"))
    if role in SITE_ROLES and (sites is None or len(sites) != 1):
        raise Unauthenticated("TOKEN", f"a {role.value} token must name exactly one site")
    if role not in (*SITE_ROLES, Role.MONITOR):
        sites = None  # sponsor, auditor and safety reviewer read every site
    subject = str(claims["sub"])
    for text in (subject, *(sites or ())):
        if not text or not text.isprintable() or len(text) > MAX_CLAIM_LENGTH:
            raise Unauthenticated("TOKEN", "the token's sub and site must be printable text")
    return Principal(subject, role, sites)


def _sites(claim: Any) -> frozenset[str] | None:
    if claim is None or claim == "":
        return None
    values = claim if isinstance(claim, list) else str(claim).split(",")
    return frozenset(str(value).strip() for value in values if str(value).strip())
