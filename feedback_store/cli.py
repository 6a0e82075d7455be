"""Command line to manage structures, agent accounts and API tokens of the portal.

Examples:
    .venv/bin/python -m feedback_store.cli structure add caf-05 --name "CAF des Hautes-Alpes"
    .venv/bin/python -m feedback_store.cli agent create marie@caf.fr --name "Marie" \
        --role agent --structure caf-05
    .venv/bin/python -m feedback_store.cli token create marie@caf.fr --label "tableur"
    .venv/bin/python -m feedback_store.cli purge --dry-run      # see feedback_store/privacy_cli.py
    .venv/bin/python -m feedback_store.cli erase --story EXP-2026-000042

The database is ``FEEDBACK_DB_URL`` (or ``--url``); it is migrated first. Exit codes: 0 done,
1 refused (unknown account, invalid value…), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import settings as settings_module
from feedback_store import accounts, migrate, privacy_cli
from feedback_store.db import make_engine, make_session_factory
from feedback_store.models import AGENT_ROLES

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A refusal to print as is (exit code 1)."""


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [tuple(headers), *(tuple(str(cell) for cell in row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Confirmez le mot de passe : ") != password:
            raise CliError("Les deux mots de passe diffèrent.")
    else:
        raise CliError("Donnez le mot de passe sur l'entrée standard avec --password-stdin.")
    return password


# --- commands -----------------------------------------------------------------------------------


def structure_add(session: Session, args: argparse.Namespace) -> str:
    """Create or rename a structure."""
    record = accounts.add_structure(
        session,
        args.code,
        args.name,
        kind=args.kind,
        departement=args.departement,
        actor=_actor(),
    )
    return f"Structure {record.code} enregistrée ({record.name})."


def structure_list(session: Session, _: argparse.Namespace) -> str:
    """List the structures."""
    rows = [
        (s.code, s.name, s.kind or "-", s.departement or "-")
        for s in accounts.list_structures(session)
    ]
    if not rows:
        return "Aucune structure."
    return _table(("code", "nom", "type", "département"), rows)


def agent_create(session: Session, args: argparse.Namespace) -> str:
    """Create an account."""
    password = _read_password(args) if args.password_stdin or args.with_password else None
    agent = accounts.create_agent(
        session,
        email=args.email,
        display_name=args.name,
        role=args.role,
        structure_codes=args.structure,
        password=password,
        actor=_actor(),
    )
    structures = ", ".join(sorted(agent.roles))
    return f"Compte {agent.email} créé : rôle {args.role} sur {structures}."


def _roles(agent: accounts.AgentRecord) -> str:
    return ", ".join(f"{code}:{role}" for code, role in sorted(agent.roles.items())) or "-"


def agent_list(session: Session, args: argparse.Namespace) -> str:
    """List the accounts."""
    agents = accounts.list_agents(session, structure_code=args.structure)
    if not agents:
        return "Aucun compte."
    rows = [
        (
            a.email,
            a.display_name,
            "actif" if a.active else "révoqué",
            "oui" if a.has_password else "non",
            _roles(a),
        )
        for a in agents
    ]
    return _table(("identifiant", "nom", "état", "mot de passe", "structures:rôle"), rows)


def agent_grant(session: Session, args: argparse.Namespace) -> str:
    """Give a role on structures."""
    agent = accounts.grant(
        session, args.email, role=args.role, structure_codes=args.structure, actor=_actor()
    )
    return f"Compte {agent.email} : {_roles(agent)}."


def agent_withdraw(session: Session, args: argparse.Namespace) -> str:
    """Detach an account from structures."""
    agent = accounts.withdraw(session, args.email, structure_codes=args.structure, actor=_actor())
    return f"Compte {agent.email} : {_roles(agent)}."


def agent_password(session: Session, args: argparse.Namespace) -> str:
    """Set a dashboard password."""
    accounts.set_password(session, args.email, _read_password(args), actor=_actor())
    return f"Mot de passe de {args.email.strip().lower()} enregistré."


def agent_revoke(session: Session, args: argparse.Namespace) -> str:
    """Revoke an account and its tokens."""
    agent = accounts.deactivate_agent(session, args.email, actor=_actor())
    return f"Compte {agent.email} révoqué ; ses jetons d'API sont révoqués."


def token_create(session: Session, args: argparse.Namespace) -> str:
    """Create an API token and print it once."""
    issued = accounts.create_token(
        session, args.email, label=args.label, expires_in_days=args.expires_days, actor=_actor()
    )
    expiry = _when(issued.record.expires_at) if issued.record.expires_at else "jamais"
    return (
        f"Jeton n° {issued.record.id} pour {issued.record.agent_email} (expiration : {expiry}).\n"
        "Copiez-le maintenant, il ne sera plus jamais affiché :\n"
        f"{issued.token}"
    )


def token_list(session: Session, args: argparse.Namespace) -> str:
    """List the tokens, without secrets."""
    tokens = accounts.list_tokens(session, args.agent)
    if not tokens:
        return "Aucun jeton."
    rows = [
        (
            str(t.id),
            t.agent_email,
            t.label or "-",
            "utilisable" if t.usable() else ("révoqué" if t.revoked_at else "expiré"),
            _when(t.created_at),
            _when(t.expires_at),
            _when(t.last_used_at),
        )
        for t in tokens
    ]
    headers = ("n°", "compte", "libellé", "état", "créé", "expire", "dernier usage")
    return _table(headers, rows)


def token_revoke(session: Session, args: argparse.Namespace) -> str:
    """Revoke a token."""
    token = accounts.revoke_token(session, args.id, actor=_actor())
    return f"Jeton n° {token.id} de {token.agent_email} révoqué ({_when(token.revoked_at)})."


# --- parser -------------------------------------------------------------------------------------


def _email_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="identifiant du compte (adresse e-mail)")


def _structures_arg(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--structure", action="append", required=True, metavar="CODE", help=help_text
    )


def _password_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="lire le mot de passe (12 caractères au moins) sur l'entrée standard",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m feedback_store.cli",
        description="Gérer les structures, les comptes agents et les jetons d'API du portail ; "
        "purger les données anciennes et effacer celles d'un usager.",
    )
    parser.add_argument(
        "--url", default=None, help="URL SQLAlchemy de la base (défaut : FEEDBACK_DB_URL)"
    )
    groups = parser.add_subparsers(
        dest="group", required=True, metavar="{structure,agent,token,purge,erase}"
    )

    structure = groups.add_parser("structure", help="structures (CAF, préfecture, mairie…)")
    sub = structure.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="créer ou renommer une structure")
    add.add_argument("code", help="code stable, ex. caf-05")
    add.add_argument("--name", required=True, help="nom affiché")
    add.add_argument("--kind", help="type d'organisme (caf, cpam, prefecture, mairie…)")
    add.add_argument("--departement", help="code du département (05, 2A, 974…)")
    add.set_defaults(run=structure_add)
    sub.add_parser("list", help="lister les structures").set_defaults(run=structure_list)

    agent = groups.add_parser("agent", help="comptes agents")
    sub = agent.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="créer un compte")
    _email_arg(create)
    create.add_argument("--name", required=True, help="nom affiché")
    create.add_argument(
        "--role", required=True, choices=AGENT_ROLES, help="rôle sur les structures"
    )
    _structures_arg(create, "structure de rattachement (répétable)")
    _password_arg(create)
    create.add_argument(
        "--with-password",
        action="store_true",
        help="demander un mot de passe de tableau de bord (saisie masquée)",
    )
    create.set_defaults(run=agent_create)
    listing = sub.add_parser("list", help="lister les comptes")
    listing.add_argument("--structure", help="seulement les comptes de cette structure")
    listing.set_defaults(run=agent_list)
    grant = sub.add_parser("grant", help="donner un rôle sur des structures")
    _email_arg(grant)
    grant.add_argument("--role", required=True, choices=AGENT_ROLES)
    _structures_arg(grant, "structure (répétable)")
    grant.set_defaults(run=agent_grant)
    withdraw = sub.add_parser("withdraw", help="retirer l'accès à des structures")
    _email_arg(withdraw)
    _structures_arg(withdraw, "structure (répétable)")
    withdraw.set_defaults(run=agent_withdraw)
    password = sub.add_parser("password", help="définir le mot de passe du tableau de bord")
    _email_arg(password)
    _password_arg(password)
    password.set_defaults(run=agent_password)
    revoke = sub.add_parser("revoke", help="révoquer un compte et tous ses jetons")
    _email_arg(revoke)
    revoke.set_defaults(run=agent_revoke)

    token = groups.add_parser("token", help="jetons d'API")
    sub = token.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="créer un jeton (affiché une seule fois)")
    _email_arg(create)
    create.add_argument("--label", help="à quoi sert le jeton")
    create.add_argument("--expires-days", type=int, metavar="N", help="validité en jours")
    create.set_defaults(run=token_create)
    listing = sub.add_parser("list", help="lister les jetons (sans leur secret)")
    listing.add_argument("--agent", metavar="EMAIL", help="seulement les jetons de ce compte")
    listing.set_defaults(run=token_list)
    revoke = sub.add_parser("revoke", help="révoquer un jeton")
    revoke.add_argument("id", type=int, help="numéro du jeton (voir token list)")
    revoke.set_defaults(run=token_revoke)
    privacy_cli.add_parsers(groups)
    return parser


def _database_url(args: argparse.Namespace) -> str:
    if args.url:
        return settings_module.load({"FEEDBACK_DB_URL": args.url}).feedback_db_url
    return settings_module.load().feedback_db_url


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "privacy", None) is not None:  # purge, erase: two databases and the outbox
        return args.privacy(args, _actor())
    run: Callable[[Session, argparse.Namespace], str] = args.run
    try:
        url = _database_url(args)
    except settings_module.SettingsError as error:
        print(f"Configuration invalide : {error}", file=sys.stderr)
        return EXIT_USAGE
    engine = None
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine).begin() as session:
            message = run(session, args)
    except (CliError, ValueError, LookupError) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return EXIT_REFUSED
    except (SQLAlchemyError, ImportError) as error:
        shown = make_url(url).render_as_string(hide_password=True)
        print(f"Erreur de base de données ({shown}) : {error.__class__.__name__}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        if engine is not None:
            engine.dispose()
    print(message)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
