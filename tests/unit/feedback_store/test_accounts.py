"""Accounts, tokens, passwords, entitlements, audit and improvement actions on SQLite."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from feedback_store import accounts, audit
from feedback_store.accounts import AccountError, AgentNotFoundError, NotEntitledError
from feedback_store.cli import main as cli_main
from feedback_store.db import make_engine, make_session_factory
from feedback_store.improvement_actions import (
    ActionNotFoundError,
    ActionValidationError,
    create_action,
    get_action,
    list_actions,
    update_action,
)
from feedback_store.migrate import upgrade
from feedback_store.models import Agent, ApiToken, AuditLog
from feedback_store.stories import Classification, StoryInput, submit_story

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts") / "feedback.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture()
def db_url(tmp_path, migrated_template):
    path = tmp_path / "feedback.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture()
def factory(db_url):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        accounts.add_structure(session, "caf-05", "CAF des Hautes-Alpes", departement="05")
        accounts.add_structure(session, "caf-04", "CAF des Alpes-de-Haute-Provence")
        accounts.add_structure(session, "cpam-05", "CPAM des Hautes-Alpes", kind="cpam")
    yield factory
    engine.dispose()


def make_agent(factory, email="marie@caf.fr", role="agent", structures=("caf-05",), **kw):
    with factory.begin() as session:
        return accounts.create_agent(
            session,
            email=email,
            display_name="Marie Dupont",
            role=role,
            structure_codes=structures,
            **kw,
        )


# --- agents and roles ---------------------------------------------------------------------------


def test_create_agent_normalises_the_login_and_records_roles_per_structure(factory):
    agent = make_agent(factory, email="  Marie@CAF.fr ", structures=("caf-05", "cpam-05"))
    assert agent.email == "marie@caf.fr"
    assert dict(agent.roles) == {"caf-05": "agent", "cpam-05": "agent"}
    assert agent.role == "agent" and agent.active and not agent.has_password
    with factory() as session:
        assert accounts.get_agent(session, "MARIE@caf.fr") == agent
        assert accounts.get_agent_by_id(session, agent.id) == agent
        entry = audit.list_entries(session, action="agent.create")[0]
    assert entry.target == "marie@caf.fr"
    assert entry.details == {"role": "agent", "structures": ["caf-05", "cpam-05"]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "pas-un-email"}, "adresse e-mail"),
        ({"role": "chef"}, "Rôle 'chef' inconnu"),
        ({"structures": ()}, "au moins une structure"),
        ({"structures": ("caf-05", "inconnue")}, r"inconnue\(s\) : inconnue"),
        ({"password": "court"}, "au moins 12 caractères"),
    ],
)
def test_create_agent_refuses_invalid_input_and_stores_nothing(factory, kwargs, message):
    with pytest.raises(AccountError, match=message):
        make_agent(factory, **kwargs)
    with factory() as session:
        assert session.execute(select(Agent)).first() is None


def test_an_email_can_hold_only_one_account(factory):
    make_agent(factory)
    with pytest.raises(AccountError, match="existe déjà"):
        make_agent(factory, email="MARIE@caf.fr")


def test_grant_and_withdraw_change_the_role_per_structure(factory):
    make_agent(factory)
    with factory.begin() as session:
        agent = accounts.grant(
            session, "marie@caf.fr", role="qualite", structure_codes=["caf-05", "caf-04"]
        )
    assert dict(agent.roles) == {"caf-04": "qualite", "caf-05": "qualite"}
    with factory.begin() as session:
        agent = accounts.withdraw(session, "marie@caf.fr", structure_codes=["caf-04"])
    assert dict(agent.roles) == {"caf-05": "qualite"}
    with factory() as session, pytest.raises(AgentNotFoundError):
        accounts.grant(session, "nobody@caf.fr", role="agent", structure_codes=["caf-05"])


def test_list_agents_filters_by_structure(factory):
    make_agent(factory, email="a@caf.fr", structures=("caf-05",))
    make_agent(factory, email="b@caf.fr", structures=("caf-04",))
    with factory() as session:
        assert [a.email for a in accounts.list_agents(session)] == ["a@caf.fr", "b@caf.fr"]
        assert [a.email for a in accounts.list_agents(session, structure_code="caf-04")] == [
            "b@caf.fr"
        ]


# --- entitlements -------------------------------------------------------------------------------


def test_permissions_follow_the_role_held_on_each_structure(factory):
    make_agent(factory, role="agent", structures=("caf-05",))
    with factory.begin() as session:
        agent = accounts.grant(session, "marie@caf.fr", role="qualite", structure_codes=["cpam-05"])
    assert agent.structures_for("stories.read") == ("caf-05", "cpam-05")
    assert agent.structures_for("exports") == ("cpam-05",)
    assert agent.structures_for("accounts.manage") == ()
    assert agent.may("exports", "cpam-05") and not agent.may("exports", "caf-05")
    assert not agent.may("stories.read", "caf-04")
    agent.check("stories.read", ["caf-05"])
    with pytest.raises(NotEntitledError, match="caf-04"):
        agent.check("stories.read", ["caf-05", "caf-04"])
    with pytest.raises(NotEntitledError, match="admin"):
        agent.check("accounts.manage")
    with pytest.raises(ValueError, match="Unknown permission"):
        agent.structures_for("everything")


def test_admin_holds_every_permission_on_its_structures(factory):
    admin = make_agent(factory, role="admin", structures=("caf-04",))
    for permission in accounts.PERMISSIONS:
        assert admin.structures_for(permission) == ("caf-04",)


def test_a_revoked_account_has_no_permission_left(factory):
    make_agent(factory)
    with factory.begin() as session:
        agent = accounts.deactivate_agent(session, "marie@caf.fr")
    assert not agent.active
    assert agent.structures_for("stories.read") == ()


# --- passwords ----------------------------------------------------------------------------------


def test_password_hash_is_salted_scrypt_and_verifies():
    first, second = accounts.hash_password(PASSWORD), accounts.hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert PASSWORD not in first
    assert accounts.check_password_hash(first, PASSWORD)
    assert not accounts.check_password_hash(first, PASSWORD + "!")
    assert not accounts.check_password_hash("md5$abc", PASSWORD)
    assert not accounts.check_password_hash("garbage", PASSWORD)


def test_verify_password_accepts_only_the_right_password_of_an_active_account(factory):
    make_agent(factory, password=PASSWORD)
    make_agent(factory, email="sans@caf.fr")
    with factory() as session:
        assert accounts.verify_password(session, "MARIE@caf.fr", PASSWORD).email == "marie@caf.fr"
        assert accounts.verify_password(session, "marie@caf.fr", "wrong password!!") is None
        assert accounts.verify_password(session, "nobody@caf.fr", PASSWORD) is None
        assert accounts.verify_password(session, "sans@caf.fr", PASSWORD) is None
        assert accounts.verify_password(session, "not an email", PASSWORD) is None
    with factory.begin() as session:
        accounts.set_password(session, "marie@caf.fr", "another long password")
        assert accounts.verify_password(session, "marie@caf.fr", PASSWORD) is None
        assert accounts.verify_password(session, "marie@caf.fr", "another long password")
        accounts.deactivate_agent(session, "marie@caf.fr")
        assert accounts.verify_password(session, "marie@caf.fr", "another long password") is None
        assert [e.action for e in audit.list_entries(session, target="marie@caf.fr")] == [
            "agent.revoke",
            "agent.password",
            "agent.create",
        ]


# --- API tokens ---------------------------------------------------------------------------------


def test_token_is_shown_once_stored_as_sha256_and_authenticates(factory):
    agent = make_agent(factory)
    with factory.begin() as session:
        issued = accounts.create_token(session, "marie@caf.fr", label="tableur")
    assert issued.token.startswith(f"fsp_{issued.record.id}_")
    with factory() as session:
        row = session.get(ApiToken, issued.record.id)
        assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
        assert issued.token not in {row.token_hash, row.label}
    with factory.begin() as session:
        assert accounts.authenticate_token(session, issued.token) == agent
        listed = accounts.list_tokens(session, "marie@caf.fr")
    assert [(t.id, t.label, t.agent_email) for t in listed] == [
        (issued.record.id, "tableur", "marie@caf.fr")
    ]
    assert listed[0].last_used_at is not None and listed[0].usable()


def test_tampered_unknown_or_malformed_tokens_do_not_authenticate(factory):
    make_agent(factory)
    with factory.begin() as session:
        token = accounts.create_token(session, "marie@caf.fr").token
    prefix, number, secret = token.split("_", 2)
    tampered = f"{prefix}_{number}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    other_id = f"{prefix}_{int(number) + 1}_{secret}"
    with factory() as session:
        for candidate in (tampered, other_id, "", "Bearer " + token, token + "x", "fsp_1_short"):
            assert accounts.authenticate_token(session, candidate) is None


def test_revoked_expired_and_deactivated_tokens_are_refused(factory):
    make_agent(factory)
    make_agent(factory, email="paul@caf.fr")
    with factory.begin() as session:
        revoked = accounts.create_token(session, "marie@caf.fr")
        expiring = accounts.create_token(session, "marie@caf.fr", expires_in_days=1)
        pauls = accounts.create_token(session, "paul@caf.fr")
        accounts.revoke_token(session, revoked.record.id)
        first = accounts.revoke_token(session, revoked.record.id).revoked_at  # idempotent
        accounts.deactivate_agent(session, "paul@caf.fr")
    with factory.begin() as session:
        assert accounts.authenticate_token(session, revoked.token) is None
        assert accounts.authenticate_token(session, expiring.token) is not None
        later = datetime.now(timezone.utc) + timedelta(days=2)
        assert accounts.authenticate_token(session, expiring.token, now=later) is None
        assert accounts.authenticate_token(session, pauls.token) is None
        tokens = {t.id: t for t in accounts.list_tokens(session)}
    assert tokens[revoked.record.id].revoked_at == first
    assert tokens[pauls.record.id].revoked_at is not None  # revoked with the account
    with factory() as session, pytest.raises(accounts.TokenNotFoundError):
        accounts.revoke_token(session, 999)
    with factory() as session, pytest.raises(AccountError, match="révoqué"):
        accounts.create_token(session, "paul@caf.fr")
    with factory() as session, pytest.raises(AccountError, match="au moins un jour"):
        accounts.create_token(session, "marie@caf.fr", expires_in_days=0)


# --- audit and actions --------------------------------------------------------------------------


def test_record_export_stores_the_perimeter_without_personal_data(factory):
    with factory.begin() as session:
        audit.record_export(
            session,
            actor="q@caf.fr",
            kind="xlsx",
            filters={
                "structure_codes": ("caf-05",),
                "date_from": date(2024, 1, 1),
                "irritant": None,
            },
            rows=42,
        )
    with factory() as session:
        row = session.execute(select(AuditLog)).scalars().all()[-1]
    assert (row.actor, row.action, row.target_type, row.target) == (
        "q@caf.fr",
        "export.xlsx",
        "export",
        "xlsx",
    )
    assert row.details == {"structure_codes": ["caf-05"], "date_from": "2024-01-01", "rows": 42}


def submit(factory, structure="caf-05"):
    with factory.begin() as session:
        return submit_story(
            session,
            StoryInput(
                submission_id=str(uuid.uuid4()),
                structure_code=structure,
                canal="telephone",
                ressenti="negatif",
                text="Personne ne répond jamais au téléphone de la caisse depuis un mois.",
                consent=True,
            ),
            Classification(irritants={"injoignable": 0.9}, model_version="t"),
        )


def test_improvement_action_lifecycle_with_links_and_audit(factory):
    story = submit(factory)
    with factory.begin() as session:
        action = create_action(
            session,
            title="Rappel sous 48 h",
            actor="q@caf.fr",
            structure_code="caf-05",
            owner="Pôle accueil",
            due_date=date(2025, 3, 31),
            irritants=["injoignable", "attente"],
            story_references=[story.reference.lower()],
        )
    assert action.status == "proposee" and action.structure_code == "caf-05"
    assert action.irritants == ("injoignable", "attente")  # taxonomy order
    assert action.stories == (story.reference,)
    # the refusal changes nothing, even when the transaction is committed
    with factory.begin() as session, pytest.raises(ActionValidationError, match="done_text"):
        update_action(session, action.id, actor="q@caf.fr", status="realisee", owner="X")
    with factory.begin() as session:
        done = update_action(
            session,
            action.id,
            actor="q@caf.fr",
            status="realisee",
            done_text="Un rappel est proposé sous 48 h.",
            due_date=None,
            irritants=["injoignable"],
        )
    assert (done.status, done.due_date, done.irritants) == ("realisee", None, ("injoignable",))
    assert done.owner == "Pôle accueil" and done.stories == (story.reference,)
    with factory() as session:
        assert get_action(session, action.id) == done
        assert list_actions(session, structure_codes=["caf-04"]) == []
        assert [a.id for a in list_actions(session, status="realisee")] == [action.id]
        assert [a.id for a in list_actions(session, story_reference=story.reference)] == [action.id]
        assert list_actions(session, irritant="attente") == []
        changes = audit.list_entries(session, target_type="action")
    assert [c.action for c in changes] == ["action.update", "action.create"]
    assert changes[0].details["status"] == {"from": "proposee", "to": "realisee"}
    with factory() as session, pytest.raises(ActionNotFoundError):
        update_action(session, 999, actor="x", title="t")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "  "}, "title est obligatoire"),
        ({"status": "faite"}, "Statut d'action 'faite' inconnu"),
        ({"irritants": ["bruit"]}, "Irritant\\(s\\) inconnu\\(s\\) : bruit"),
        ({"story_references": ["EXP-2024-000999"]}, "Histoire\\(s\\) inconnue\\(s\\)"),
        ({"structure_code": "nope"}, "Structure inconnue"),
    ],
)
def test_create_action_refuses_invalid_fields(factory, kwargs, message):
    values = {"title": "Titre", "actor": "q@caf.fr", "structure_code": "caf-05", **kwargs}
    with factory() as session, pytest.raises(ActionValidationError, match=message):
        create_action(session, **values)


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_accounts_and_tokens(db_url, capsys, monkeypatch):
    assert cli_main(["--url", db_url, "structure", "add", "caf-05", "--name", "CAF 05"]) == 0
    assert "Structure caf-05 enregistrée" in capsys.readouterr().out
    assert (
        cli_main(
            [
                "--url",
                db_url,
                "agent",
                "create",
                "Marie@caf.fr",
                "--name",
                "Marie",
                "--role",
                "qualite",
                "--structure",
                "caf-05",
            ]
        )
        == 0
    )
    assert "marie@caf.fr créé : rôle qualite sur caf-05" in capsys.readouterr().out
    assert cli_main(["--url", db_url, "token", "create", "marie@caf.fr", "--label", "bi"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("fsp_1_")
    engine = make_engine(db_url)
    with make_session_factory(engine).begin() as session:
        assert accounts.authenticate_token(session, token).email == "marie@caf.fr"
    assert cli_main(["--url", db_url, "token", "list"]) == 0
    listing = capsys.readouterr().out
    assert "marie@caf.fr" in listing and "utilisable" in listing and token not in listing
    assert cli_main(["--url", db_url, "token", "revoke", "1"]) == 0
    capsys.readouterr()
    with make_session_factory(engine).begin() as session:
        assert accounts.authenticate_token(session, token) is None
    engine.dispose()

    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert cli_main(["--url", db_url, "agent", "password", "marie@caf.fr", "--password-stdin"]) == 0
    assert cli_main(["--url", db_url, "agent", "revoke", "marie@caf.fr"]) == 0
    assert cli_main(["--url", db_url, "agent", "list"]) == 0
    out = capsys.readouterr().out
    assert "révoqué" in out.splitlines()[-1] and "oui" in out.splitlines()[-1]


def test_cli_refuses_bad_input_with_a_message_and_no_traceback(db_url, capsys):
    assert cli_main(["--url", db_url, "token", "create", "nobody@caf.fr"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Erreur : Aucun compte") and "Traceback" not in err
    assert cli_main(["--url", db_url, "token", "revoke", "42"]) == 1
    assert "Aucun jeton n° 42" in capsys.readouterr().err
    args = ["agent", "create", "x@y.fr", "--name", "X", "--role", "agent", "--structure", "zz"]
    assert cli_main(["--url", db_url, *args]) == 1
    assert "Structure(s) inconnue(s) : zz" in capsys.readouterr().err
    assert cli_main(["--url", "mysql://h/db", "agent", "list"]) == 2
    assert "Configuration invalide" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["agent", "create", "x@y.fr", "--role", "chef"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--help"])
    assert exit_info.value.code == 0
    assert "structure,agent,token" in capsys.readouterr().out
