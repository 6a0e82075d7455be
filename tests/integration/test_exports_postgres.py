"""Exports and committee report on a real PostgreSQL (server-side cursor + per-batch labels)."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from feedback_store.db import make_engine, make_session_factory
from feedback_store.exports import (
    EXPORT_HEADER,
    ExportScope,
    iter_story_rows,
    write_csv,
    write_xlsx,
)
from feedback_store.migrate import upgrade
from feedback_store.report import build_committee_report, render_pdf
from feedback_store.stories import Classification, StoryInput, submit_story
from feedback_store.taxonomy import IRRITANTS
from tests.integration.postgres import admin_engine, temporary_database

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
CODES = list(IRRITANTS)
SCOPE = ExportScope(date(2025, 1, 1), date(2025, 1, 31), ("caf-05",))


@pytest.fixture(scope="module")
def factory():
    admin = admin_engine()
    with temporary_database(admin) as url:
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory.begin() as session:
            for i in range(60):
                irritant = CODES[i % len(CODES)]
                submit_story(
                    session,
                    StoryInput(
                        submission_id=str(uuid.uuid4()),
                        structure_code="caf-05" if i % 3 else "caf-04",
                        canal="telephone",
                        ressenti="negatif",
                        text=f"Récit numéro {i} : un irritant de plus pour le comité qualité.",
                        consent=True,
                    ),
                    Classification(
                        {irritant: 0.8},
                        dict.fromkeys(IRRITANTS[irritant].engagements, 0.7),
                        frozenset({IRRITANTS[irritant].tag}),
                        "test-model",
                    ),
                    created_at=datetime(2025, 1, 1 + i % 31, 12, tzinfo=PARIS),
                )
        yield factory
        engine.dispose()
    admin.dispose()


def test_rows_stream_with_a_server_side_cursor(factory):
    with factory() as session:
        rows = list(iter_story_rows(session, SCOPE.filters(), batch_size=7))
    assert len(rows) == 40  # two stories in three are caf-05
    irritants = [row[EXPORT_HEADER.index("irritants")] for row in rows]
    assert all(code in IRRITANTS for code in irritants)
    times = [row[EXPORT_HEADER.index("ecrit_le")] for row in rows]
    assert times == sorted(times)


def test_csv_and_xlsx(factory):
    csv_out, xlsx_out = io.BytesIO(), io.BytesIO()
    with factory() as session:
        assert write_csv(session, SCOPE.filters(), csv_out) == 40
        assert write_xlsx(session, SCOPE.filters(), xlsx_out) == 40
    data = csv_out.getvalue()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))
    assert rows[0] == list(EXPORT_HEADER) and len(rows) == 41
    sheet = openpyxl.load_workbook(xlsx_out).active
    assert sheet.max_row == 41
    column = EXPORT_HEADER.index("code_structure") + 1
    assert {sheet.cell(r, column).value for r in range(2, 42)} == {"caf-05"}


def test_committee_report(factory):
    with factory() as session:
        report = build_committee_report(session, SCOPE)
    assert report.stories.current == 40 and report.stories.previous == 0
    assert sum(len(s.verbatims) for s in report.sections) > 0
    out = io.BytesIO()
    assert render_pdf(report, out) >= 9
    assert out.getvalue().startswith(b"%PDF-")
