"""Agent accounts of the portal: roles per structure, API tokens, passwords and entitlements.

Every function takes the caller's session and never commits. Records returned are plain
dataclasses. Roles are held per structure (``agent_structures``) and ranked
``agent`` < ``qualite`` < ``admin``; :data:`PERMISSIONS` says which role each permission needs
on a structure, so an account may be ``qualite`` on one structure and ``agent`` on another.

API tokens look like ``fsp_<id>_<secret>``: the id finds the row, the SHA-256 of the whole token
is compared in constant time; the clear token is returned once by :func:`create_token` and never
stored. Dashboard passwords are hashed with scrypt (random salt, parameters kept in the hash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedback_store import audit
from feedback_store.models import AGENT_ROLES, Agent, AgentStructure, ApiToken, Structure
from feedback_store.stories import upsert_structure

__all__ = [
    "PERMISSIONS",
    "ROLE_RANK",
    "AccountError",
    "AgentNotFoundError",
    "AgentRecord",
    "IssuedToken",
    "NotEntitledError",
    "StructureRecord",
    "TokenNotFoundError",
    "TokenRecord",
    "add_structure",
    "authenticate_token",
    "check_password_hash",
    "create_agent",
    "create_token",
    "deactivate_agent",
    "get_agent",
    "get_agent_by_id",
    "grant",
    "hash_password",
    "list_agents",
    "list_structures",
    "list_tokens",
    "revoke_token",
    "set_password",
    "verify_password",
    "withdraw",
]

ROLE_RANK: Mapping[str, int] = MappingProxyType(
    {role: rank for rank, role in enumerate(AGENT_ROLES)}
)

PERMISSIONS: Mapping[str, str] = MappingProxyType(
    {
        "stories.read": "agent",
        "stories.handle": "agent",
        "aggregates.read": "agent",
        "actions.read": "agent",
        "actions.write": "agent",
        "exports": "qualite",
        "analytics.read": "qualite",  # conversation analytics are not tied to a structure
        "accounts.manage": "admin",
    }
)
"""Minimum role on a structure for each permission (roles rank agent < qualite < admin)."""

TOKEN_PREFIX = "fsp"  # noqa: S105 - a public prefix, not a secret
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024
LAST_USED_RESOLUTION = timedelta(minutes=1)
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32
_TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}_(\d{{1,12}})_([A-Za-z0-9_-]{{43}})$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DEPARTEMENT_RE = re.compile(r"^(\d{2}|2A|2B|97\d|98\d)$")


class AccountError(ValueError):
    """Invalid account input (bad e-mail, unknown role or structure, weak password…)."""


class AgentNotFoundError(LookupError):
    """No agent has the given e-mail or id."""


class TokenNotFoundError(LookupError):
    """No API token has the given id."""


class NotEntitledError(PermissionError):
    """The agent lacks the role needed for this permission on (one of) the structures."""


@dataclass(frozen=True)
class AgentRecord:
    """An agent account with its role on each structure it is attached to.

    Attributes:
        id: Database id.
        email: Login (lower-case e-mail).
        display_name: Name shown in the portal.
        active: False once the account was revoked.
        created_at: Creation time (UTC).
        roles: Structure code -> role (agent, qualite, admin).
        has_password: Whether the account can log in to the dashboard.

    """

    id: int
    email: str
    display_name: str
    active: bool
    created_at: datetime
    roles: Mapping[str, str] = field(default_factory=dict)
    has_password: bool = False

    @property
    def role(self) -> str | None:
        """Highest role held on any structure (None without any structure)."""
        if not self.roles:
            return None
        return max(self.roles.values(), key=ROLE_RANK.__getitem__)

    def structures_for(self, permission: str) -> tuple[str, ...]:
        """Sorted codes of the structures on which the agent holds ``permission``.

        Raises:
            ValueError: Unknown permission.

        """
        if permission not in PERMISSIONS:
            raise ValueError(f"Unknown permission {permission!r}.")
        if not self.active:
            return ()
        needed = ROLE_RANK[PERMISSIONS[permission]]
        return tuple(sorted(code for code, role in self.roles.items() if ROLE_RANK[role] >= needed))

    def may(self, permission: str, structure_code: str | None = None) -> bool:
        """Whether the agent holds ``permission`` on ``structure_code`` (or on any structure)."""
        allowed = self.structures_for(permission)
        return bool(allowed) if structure_code is None else structure_code in allowed

    def check(self, permission: str, structure_codes: Iterable[str] | None = None) -> None:
        """Raise :class:`NotEntitledError` unless the agent holds ``permission`` everywhere asked.

        Args:
            permission: A key of :data:`PERMISSIONS`.
            structure_codes: Structures concerned; None: on at least one structure.

        """
        allowed = set(self.structures_for(permission))
        if not allowed:
            raise NotEntitledError(
                f"Votre compte n'a pas le rôle requis ({PERMISSIONS[permission]}) pour cette "
                "opération."
            )
        outside = sorted(set(structure_codes or ()) - allowed)
        if outside:
            raise NotEntitledError(
                "Vous n'avez pas accès aux données de la structure : " + ", ".join(outside) + "."
            )


@dataclass(frozen=True)
class TokenRecord:
    """An API token, without its secret."""

    id: int
    agent_email: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def usable(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired at ``now``."""
        now = now or datetime.now(timezone.utc)
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: ``token`` is the clear secret, shown once and never stored."""

    token: str
    record: TokenRecord


@dataclass(frozen=True)
class StructureRecord:
    """A structure agents can be attached to."""

    code: str
    name: str
    kind: str | None
    departement: str | None


# --- passwords ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for ``password`` (random 16-byte salt).

    Raises:
        AccountError: Password shorter than 12 characters or absurdly long.

    """
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(
            f"Le mot de passe doit compter au moins {PASSWORD_MIN_LENGTH} caractères."
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(f"Le mot de passe dépasse {PASSWORD_MAX_LENGTH} caractères.")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password_hash(stored: str, password: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH: list[str] = []


def _dummy_check(password: str) -> None:
    """Spend as long as a real check, so unknown logins cannot be told apart by timing."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    check_password_hash(_DUMMY_HASH[0], password)


# --- helpers ------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _email(value: str) -> str:
    email = (value or "").strip().lower() if isinstance(value, str) else ""
    if not _EMAIL_RE.fullmatch(email) or len(email) > 254:
        raise AccountError(f"Identifiant {value!r} invalide : une adresse e-mail est attendue.")
    return email


def _role(value: str) -> str:
    if value not in ROLE_RANK:
        raise AccountError(f"Rôle {value!r} inconnu ; rôles possibles : {', '.join(AGENT_ROLES)}.")
    return value


def _structures(session: Session, codes: Iterable[str]) -> dict[str, Structure]:
    wanted = sorted({code.strip() for code in codes if code and code.strip()})
    if not wanted:
        raise AccountError("Rattachez le compte à au moins une structure.")
    rows = session.execute(select(Structure).where(Structure.code.in_(wanted))).scalars()
    found = {row.code: row for row in rows}
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise AccountError(
            "Structure(s) inconnue(s) : "
            + ", ".join(unknown)
            + ". Créez-les d'abord (python -m feedback_store.cli structure add)."
        )
    return found


def _agent_row(session: Session, email: str) -> Agent:
    row = session.execute(select(Agent).where(Agent.email == _email(email))).scalar_one_or_none()
    if row is None:
        raise AgentNotFoundError(f"Aucun compte pour {email!r}.")
    return row


def _roles(session: Session, agent_id: int) -> dict[str, str]:
    stmt = (
        select(Structure.code, AgentStructure.role)
        .join(Structure, Structure.id == AgentStructure.structure_id)
        .where(AgentStructure.agent_id == agent_id)
    )
    return {code: role for code, role in session.execute(stmt)}


def _agent_record(session: Session, row: Agent) -> AgentRecord:
    return AgentRecord(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        active=row.active,
        created_at=row.created_at,
        roles=MappingProxyType(_roles(session, row.id)),
        has_password=row.password_hash is not None,
    )


def _token_record(row: ApiToken, email: str) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        agent_email=email,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- structures ---------------------------------------------------------------------------------


def add_structure(
    session: Session,
    code: str,
    name: str,
    *,
    kind: str | None = None,
    departement: str | None = None,
    actor: str = "system",
) -> StructureRecord:
    """Create or update a structure; audited.

    Raises:
        AccountError: Empty name or invalid département.
        feedback_store.stories.StoryValidationError: Invalid code.

    """
    name = (name or "").strip()
    if not name:
        raise AccountError("Donnez un nom à la structure.")
    if departement is not None:
        departement = departement.strip().upper()
        if not _DEPARTEMENT_RE.fullmatch(departement):
            raise AccountError(f"Département {departement!r} invalide (ex. 05, 2A, 974).")
    upsert_structure(session, code, name, kind=kind, departement=departement)
    audit.record(session, actor=actor, action="structure.add", target_type="structure", target=code)
    row = session.execute(select(Structure).where(Structure.code == code.strip())).scalar_one()
    return StructureRecord(row.code, row.name, row.kind, row.departement)


def list_structures(session: Session) -> list[StructureRecord]:
    """Return every structure, by code."""
    rows = session.execute(select(Structure).order_by(Structure.code)).scalars()
    return [StructureRecord(row.code, row.name, row.kind, row.departement) for row in rows]


# --- agents -------------------------------------------------------------------------------------


def create_agent(
    session: Session,
    *,
    email: str,
    display_name: str,
    role: str,
    structure_codes: Iterable[str],
    password: str | None = None,
    actor: str = "system",
) -> AgentRecord:
    """Create an account holding ``role`` on each of ``structure_codes``; audited.

    Raises:
        AccountError: Invalid e-mail, name, role, password; unknown structure; e-mail taken.

    """
    email = _email(email)
    role = _role(role)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 200:
        raise AccountError("Le nom affiché est obligatoire (200 caractères au plus).")
    structures = _structures(session, structure_codes)
    if session.execute(select(Agent.id).where(Agent.email == email)).first() is not None:
        raise AccountError(f"Un compte existe déjà pour {email}.")
    row = Agent(
        email=email,
        display_name=display_name,
        active=True,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(row)
    session.flush()
    for structure in structures.values():
        session.add(AgentStructure(agent_id=row.id, structure_id=structure.id, role=role))
    audit.record(
        session,
        actor=actor,
        action="agent.create",
        target_type="agent",
        target=email,
        details={"role": role, "structures": sorted(structures)},
    )
    return _agent_record(session, row)


def get_agent(session: Session, email: str) -> AgentRecord | None:
    """Return the account with this e-mail (case-insensitive), or None."""
    try:
        return _agent_record(session, _agent_row(session, email))
    except (AgentNotFoundError, AccountError):
        return None


def get_agent_by_id(session: Session, agent_id: int) -> AgentRecord | None:
    """Return the account with this id, or None."""
    row = session.get(Agent, agent_id)
    return _agent_record(session, row) if row is not None else None


def list_agents(
    session: Session, *, structure_code: str | None = None, include_inactive: bool = True
) -> list[AgentRecord]:
    """Return accounts by e-mail, optionally only those attached to ``structure_code``."""
    stmt = select(Agent).order_by(Agent.email)
    if structure_code is not None:
        stmt = stmt.where(
            Agent.id.in_(
                select(AgentStructure.agent_id)
                .join(Structure, Structure.id == AgentStructure.structure_id)
                .where(Structure.code == structure_code)
            )
        )
    if not include_inactive:
        stmt = stmt.where(Agent.active.is_(True))
    return [_agent_record(session, row) for row in session.execute(stmt).scalars()]


def grant(
    session: Session,
    email: str,
    *,
    role: str,
    structure_codes: Iterable[str],
    actor: str = "system",
) -> AgentRecord:
    """Give ``role`` on ``structure_codes`` (replacing any role held there); audited.

    Raises:
        AgentNotFoundError: Unknown e-mail.
        AccountError: Unknown role or structure.

    """
    row = _agent_row(session, email)
    role = _role(role)
    structures = _structures(session, structure_codes)
    for structure in structures.values():
        link = session.get(AgentStructure, (row.id, structure.id))
        if link is None:
            session.add(AgentStructure(agent_id=row.id, structure_id=structure.id, role=role))
        else:
            link.role = role
    audit.record(
        session,
        actor=actor,
        action="agent.grant",
        target_type="agent",
        target=row.email,
        details={"role": role, "structures": sorted(structures)},
    )
    session.flush()
    return _agent_record(session, row)


def withdraw(
    session: Session, email: str, *, structure_codes: Iterable[str], actor: str = "system"
) -> AgentRecord:
    """Detach the account from ``structure_codes``; audited.

    Raises:
        AgentNotFoundError: Unknown e-mail.
        AccountError: Unknown structure.

    """
    row = _agent_row(session, email)
    structures = _structures(session, structure_codes)
    ids = [structure.id for structure in structures.values()]
    session.execute(
        delete(AgentStructure).where(
            AgentStructure.agent_id == row.id, AgentStructure.structure_id.in_(ids)
        )
    )
    audit.record(
        session,
        actor=actor,
        action="agent.withdraw",
        target_type="agent",
        target=row.email,
        details={"structures": sorted(structures)},
    )
    session.flush()
    return _agent_record(session, row)


def deactivate_agent(session: Session, email: str, *, actor: str = "system") -> AgentRecord:
    """Revoke an account: it can no longer log in and all its tokens are revoked; audited.

    Raises:
        AgentNotFoundError: Unknown e-mail.

    """
    row = _agent_row(session, email)
    row.active = False
    now = _now()
    for token in row.tokens:
        if token.revoked_at is None:
            token.revoked_at = now
    audit.record(session, actor=actor, action="agent.revoke", target_type="agent", target=row.email)
    session.flush()
    return _agent_record(session, row)


def set_password(session: Session, email: str, password: str, *, actor: str = "system") -> None:
    """Set the dashboard password of an account; audited (without the password).

    Raises:
        AgentNotFoundError: Unknown e-mail.
        AccountError: Password too short or too long.

    """
    row = _agent_row(session, email)
    row.password_hash = hash_password(password)
    audit.record(
        session, actor=actor, action="agent.password", target_type="agent", target=row.email
    )
    session.flush()


def verify_password(session: Session, email: str, password: str) -> AgentRecord | None:
    """Return the active account if ``password`` is its password, else None.

    Unknown, inactive and password-less accounts take as long as a wrong password.
    """
    try:
        row = _agent_row(session, email)
    except (AgentNotFoundError, AccountError):
        row = None
    if row is None or row.password_hash is None or not row.active:
        _dummy_check(password[:PASSWORD_MAX_LENGTH] if isinstance(password, str) else "")
        return None
    if not isinstance(password, str) or len(password) > PASSWORD_MAX_LENGTH:
        return None
    if not check_password_hash(row.password_hash, password):
        return None
    return _agent_record(session, row)


# --- API tokens ---------------------------------------------------------------------------------


def create_token(
    session: Session,
    email: str,
    *,
    label: str | None = None,
    expires_in_days: int | None = None,
    actor: str = "system",
) -> IssuedToken:
    """Create an API token for an active account; the clear token is only in the result.

    Raises:
        AgentNotFoundError: Unknown e-mail.
        AccountError: Inactive account, label too long, non-positive lifetime.

    """
    row = _agent_row(session, email)
    if not row.active:
        raise AccountError(f"Le compte {row.email} est révoqué : aucun jeton ne peut être créé.")
    label = (label or "").strip() or None
    if label is not None and len(label) > 100:
        raise AccountError("Le libellé du jeton dépasse 100 caractères.")
    expires_at = None
    if expires_in_days is not None:
        if expires_in_days <= 0:
            raise AccountError("La durée de validité doit être d'au moins un jour.")
        expires_at = _now() + timedelta(days=expires_in_days)
    token_row = ApiToken(
        agent_id=row.id,
        token_hash=_token_hash(secrets.token_hex(32)),  # placeholder until the id is known
        label=label,
        expires_at=expires_at,
    )
    session.add(token_row)
    session.flush()
    token = f"{TOKEN_PREFIX}_{token_row.id}_{secrets.token_urlsafe(32)}"
    token_row.token_hash = _token_hash(token)
    audit.record(
        session,
        actor=actor,
        action="token.create",
        target_type="token",
        target=str(token_row.id),
        details={"agent": row.email},
    )
    session.flush()
    return IssuedToken(token=token, record=_token_record(token_row, row.email))


def list_tokens(session: Session, email: str | None = None) -> list[TokenRecord]:
    """Return tokens (all, or one account's), oldest first, without secrets.

    Raises:
        AgentNotFoundError: Unknown e-mail.

    """
    stmt = select(ApiToken, Agent.email).join(Agent, Agent.id == ApiToken.agent_id)
    if email is not None:
        stmt = stmt.where(ApiToken.agent_id == _agent_row(session, email).id)
    rows = session.execute(stmt.order_by(ApiToken.id))
    return [_token_record(token, owner) for token, owner in rows]


def revoke_token(session: Session, token_id: int, *, actor: str = "system") -> TokenRecord:
    """Revoke a token (idempotent: the first revocation time is kept); audited.

    Raises:
        TokenNotFoundError: Unknown id.

    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenNotFoundError(f"Aucun jeton n° {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = _now()
        audit.record(
            session, actor=actor, action="token.revoke", target_type="token", target=str(row.id)
        )
    session.flush()
    owner = session.get(Agent, row.agent_id)
    return _token_record(row, owner.email)


def authenticate_token(
    session: Session, token: str, *, now: datetime | None = None
) -> AgentRecord | None:
    """Return the active account owning a usable ``token``, else None.

    Records the last use (at most once a minute per token, to spare writes).
    """
    match = _TOKEN_RE.fullmatch(token or "") if isinstance(token, str) else None
    if match is None:
        return None
    row = session.get(ApiToken, int(match.group(1)))
    if row is None or not hmac.compare_digest(row.token_hash, _token_hash(token)):
        return None
    now = now or _now()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or not agent.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.flush()
    return _agent_record(session, agent)
