"""Certificates: the course.yaml section, issuing on completion with its earned statement, the learner's printable
page, public verification by code, and revocation by admins only (web and command line)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient
from test_capstone_support import CAPSTONE_YAML
from test_docs_contract import assert_table_documents, section

from course import build
from course.certificate import CERTIFICATE_FIELDS
from engine.cli import cli
from engine.dates import govuk_date
from engine.storage import capstone as capstone_db
from engine.storage import certificates as db
from engine.storage.db import Store
from engine.xapi.validate import validate_statement
from helpers import COURSE_YAML, make_course
from webhelpers import csrf, make_app, register

COURSE_IRI = "https://learn.example.gov.uk/courses/demo"
SIGNED = COURSE_YAML + "certificate:\n  title: Certificate of achievement\n  signed_by: Director, Innovation Programme\n"


# --- the course.yaml section ---------------------------------------------------------------------------------

def test_the_section_compiles_with_defaults(tmp_path: Path) -> None:
    plain = build(make_course(tmp_path / "a"))
    assert plain.ok and plain.course is not None
    assert plain.course.certificate == {"enabled": True, "title": "Certificate of completion",
                                        "requires_capstone": False, "signed_by": None}
    signed = build(make_course(tmp_path / "b", course_yaml=SIGNED))
    assert signed.ok and signed.course is not None
    assert signed.course.certificate == {"enabled": True, "title": "Certificate of achievement",
                                         "requires_capstone": False, "signed_by": "Director, Innovation Programme"}
    off = build(make_course(tmp_path / "c", course_yaml=COURSE_YAML + "certificate: {enabled: false}\n"))
    assert off.course is not None and off.course.certificate is not None
    assert off.course.certificate["enabled"] is False


def test_section_mistakes_are_located(tmp_path: Path) -> None:
    yaml = COURSE_YAML + ("certificate:\n"
                          "  enabeld: false\n"
                          "  title: \"\"\n"
                          "  requires_capstone: yes please\n"
                          "  signed_by: [a, b]\n")
    found = [d.format() for d in build(make_course(tmp_path, course_yaml=yaml)).diagnostics]
    assert found == [
        'course.yaml:6:3: error: unknown key "enabeld" in certificate (did you mean "enabled"?)',
        'course.yaml:7:10: error: "title" must be a non-empty text',
        'course.yaml:8:22: error: "requires_capstone" must be true or false',
        'course.yaml:9:14: error: "signed_by" must be a non-empty text',
    ]


def test_requires_capstone_needs_a_capstone(tmp_path: Path) -> None:
    result = build(make_course(tmp_path, course_yaml=COURSE_YAML + "certificate: {requires_capstone: true}\n"))
    assert [d.format() for d in result.diagnostics] == [
        "course.yaml:5:34: error: certificate requires_capstone needs a capstone section in course.yaml"]
    assert not result.ok


def test_a_section_that_is_not_a_mapping_is_reported_once(tmp_path: Path) -> None:
    result = build(make_course(tmp_path, course_yaml=COURSE_YAML + "certificate: yes\n"))
    assert [d.format() for d in result.diagnostics] == [
        'course.yaml:5:14: error: "certificate" must be a mapping of keys to values']


def test_every_certificate_key_is_documented() -> None:
    assert_table_documents(section("The certificate"), CERTIFICATE_FIELDS)


# --- issuing -------------------------------------------------------------------------------------------------

def statements(store: Store) -> list[dict[str, Any]]:
    return [json.loads(body) for (body,) in store.conn.execute("SELECT body FROM statements ORDER BY seq")]


def earned(store: Store) -> list[dict[str, Any]]:
    return [s for s in statements(store) if s["verb"]["id"] == "http://id.tincanapi.com/verb/earned"]


def complete(client: TestClient) -> None:
    """Both lessons of the demo course complete on viewing: that completes the course."""
    for lesson in ("lesson", "other"):
        assert client.get(f"/demo/01-intro/{lesson}").status_code == 200


def learner(app: TestClient, email: str, name: str, role: str = "learner", store: Store | None = None
            ) -> TestClient:
    client = TestClient(app.app, follow_redirects=False)
    register(client, email=email, name=name)
    if role != "learner":
        assert store is not None
        user = store.user_by_email(email)
        assert user is not None
        store.set_role(user.id, role)
    return client


@pytest.fixture
def app(tmp_path: Path) -> tuple[TestClient, Store]:
    return make_app(make_course(tmp_path / "demo", course_yaml=SIGNED), tmp_path / "certs.db",
                    base_url="http://learn.example.gov.uk")


def ada_certificate(store: Store) -> db.Certificate:
    user = store.user_by_email("ada@example.gov.uk")
    assert user is not None
    found = db.for_user(store, user.id, COURSE_IRI)
    assert found is not None
    return found


def test_completing_the_course_issues_the_certificate_with_an_earned_statement(app: tuple[TestClient, Store]
                                                                                ) -> None:
    client, store = app
    register(client)
    client.get("/demo/01-intro/lesson")
    assert store.conn.execute("SELECT COUNT(*) FROM certificates").fetchone()[0] == 0
    assert "View and print your certificate" not in client.get("/demo/").text
    client.get("/demo/01-intro/other")
    cert = ada_certificate(store)
    assert (cert.name, cert.course_title, cert.title, cert.signed_by) == (
        "Ada Lovelace", "Demo course", "Certificate of achievement", "Director, Innovation Programme")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", cert.code)
    assert "View and print your certificate" in client.get("/demo/").text

    found = earned(store)
    assert len(found) == 1
    statement = found[0]
    validate_statement(statement)
    assert statement["object"] == {
        "objectType": "Activity", "id": COURSE_IRI + "/certificate",
        "definition": {"type": "http://id.tincanapi.com/activitytype/certificate",
                       "name": {"en-GB": "Certificate of achievement"},
                       "description": {"en-GB": "Certificate of achievement: Demo course"}}}
    assert statement["context"]["contextActivities"] == {
        "grouping": [{"objectType": "Activity", "id": COURSE_IRI,
                      "definition": {"type": "http://adlnet.gov/expapi/activities/course"}}]}
    assert statement["result"] == {"completion": True, "extensions": {
        "https://w3id.org/xapi/masterclass/extensions/certificate-code": cert.display_code}}
    course_done = next(s for s in statements(store) if s["verb"]["id"].endswith("/completed")
                       and s["object"]["id"] == COURSE_IRI)
    assert statement["context"]["registration"] == course_done["context"]["registration"]
    # Later events issue nothing more.
    complete(client)
    client.get("/demo/certificate")
    assert len(earned(store)) == 1
    assert store.conn.execute("SELECT COUNT(*) FROM certificates").fetchone()[0] == 1


def test_the_certificate_commits_with_the_completion_or_not_at_all(app: tuple[TestClient, Store],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client, store = app
    register(client)
    client.get("/demo/01-intro/lesson")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(db, "issue", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        client.get("/demo/01-intro/other")
    assert store.conn.execute("SELECT COUNT(*) FROM completions WHERE kind = 'course'").fetchone()[0] == 0
    assert not [s for s in statements(store) if s["object"]["id"] == COURSE_IRI and "completed" in s["verb"]["id"]]
    monkeypatch.undo()
    client.get("/demo/01-intro/other")
    assert store.conn.execute("SELECT COUNT(*) FROM completions WHERE kind = 'course'").fetchone()[0] == 1
    assert ada_certificate(store) and len(earned(store)) == 1


def test_learners_who_completed_before_certificates_get_one_on_their_next_visit(app: tuple[TestClient, Store]
                                                                                 ) -> None:
    client, store = app
    register(client)
    complete(client)
    # As a database from before certificates: the completion, and no certificate or earned statement.
    with store.transaction() as conn:
        conn.execute("DELETE FROM certificates")
        conn.execute("DELETE FROM statements WHERE verb = 'http://id.tincanapi.com/verb/earned'")
    assert earned(store) == []
    assert "View and print your certificate" in client.get("/demo/").text
    assert len(earned(store)) == 1
    validate_statement(earned(store)[0])
    code = ada_certificate(store).display_code
    with store.transaction() as conn:
        conn.execute("DELETE FROM certificates")
    page = client.get("/demo/certificate")
    assert page.status_code == 200 and ada_certificate(store).display_code != code


def test_a_course_can_give_no_certificate(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo", course_yaml=COURSE_YAML + "certificate:\n"
                                                                                      "  enabled: false\n"),
                             tmp_path / "x.db")
    register(client)
    complete(client)
    assert store.conn.execute("SELECT COUNT(*) FROM certificates").fetchone()[0] == 0 and earned(store) == []
    home = client.get("/demo/").text
    assert "Course completed" in home and "certificate" not in home
    page = client.get("/demo/certificate")
    assert page.status_code == 404 and "This course does not give a certificate" in page.text


def test_requires_capstone_waits_for_the_team_project(tmp_path: Path) -> None:
    yaml = (CAPSTONE_YAML.replace("completion: {modules: all, capstone: true}\n", "")
            + "certificate: {requires_capstone: true}\n")
    client, store = make_app(make_course(tmp_path / "demo", course_yaml=yaml), tmp_path / "x.db")
    register(client)
    complete(client)
    assert "Course completed" in client.get("/demo/").text
    assert store.conn.execute("SELECT COUNT(*) FROM certificates").fetchone()[0] == 0
    page = client.get("/demo/certificate")
    assert page.status_code == 404 and "complete the course and its team project" in page.text
    user = store.user_by_email("ada@example.gov.uk")
    assert user is not None
    # What the capstone's last stage does (engine.capstone.actions.settle): record the capstone completion and
    # the completions it leads to, in one transaction.
    from engine import events

    enrolment = store.enrolment(user.id, COURSE_IRI)
    assert enrolment is not None
    with store.transaction():
        store.conn.execute("INSERT INTO capstone_teams (course_iri, name, department, join_code, created_at)"
                           " VALUES (?, 'T', 'Cabinet Office', 'ABCDEFGH', '2026-01-01T00:00:00+00:00')",
                           (COURSE_IRI,))
        team = store.conn.execute("SELECT id FROM capstone_teams").fetchone()[0]
        capstone_db.record_completion(store, user.id, COURSE_IRI, team)
        svc = client.app.app.state.service  # type: ignore[attr-defined]
        them = events.Learner(store, svc.emitter, svc.courses["demo"].course, user, enrolment)
        svc.emitter.save(store, events.completions(them))
    assert ada_certificate(store) and len(earned(store)) == 1
    assert client.get("/demo/certificate").status_code == 200


# --- the learner's page --------------------------------------------------------------------------------------

def test_the_printable_certificate(app: tuple[TestClient, Store]) -> None:
    client, store = app
    register(client, name="Ada <b>Lovelace</b>")
    complete(client)
    cert = ada_certificate(store)
    page = client.get("/demo/certificate")
    assert page.status_code == 200
    html = page.text
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html
    assert "Certificate of achievement" in html and "Demo course" in html
    assert "Director, Innovation Programme" in html
    assert govuk_date(cert.issued_at) in html
    assert re.search(r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|"
                     r"December) \d{4}\b", html)
    assert cert.display_code in html
    assert f"http://learn.example.gov.uk/certificates/{cert.display_code}" in html
    assert 'href="/static/certificate-print.css" media="print"' in html
    assert "data-mc-print hidden" in html and "use your browser's Print command" in html


def test_dates_are_written_the_gov_uk_way() -> None:
    assert govuk_date("2026-11-27T10:00:00.000+00:00") == "27 November 2026"
    assert govuk_date("2026-03-05T10:00:00.000+00:00") == "5 March 2026"


def test_codes_forgive_case_dashes_and_look_alike_letters() -> None:
    assert db.normalise("MC-7K3P-Q9XD-2FHM") == "7K3PQ9XD2FHM"
    assert db.normalise("mc 7k3p q9xd 2fhm") == "7K3PQ9XD2FHM"
    assert db.normalise("7k3pq9xd2fhm") == "7K3PQ9XD2FHM"
    assert db.normalise("MC–7K3P–Q9XD–2FHM") == "7K3PQ9XD2FHM"  # en dashes from a word processor
    assert db.normalise("MC-7K3P-Q9XD-2FHO") == "7K3PQ9XD2FH0"  # O read as zero
    assert db.normalise("MC-MCMC-MCMC-MCMC") == "MCMCMCMCMCMC"
    for bad in ("", "MC-7K3P-Q9XD", "MC-7K3P-Q9XD-2FHU", "MC-7K3P-Q9XD-2FH!", "x" * 64):
        assert db.normalise(bad) is None, bad
    codes = {db.new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(db.normalise(db.display(c)) == c for c in codes)


# --- public verification -------------------------------------------------------------------------------------

def test_verification_confirms_a_genuine_certificate_and_nothing_more(app: tuple[TestClient, Store]) -> None:
    client, store = app
    register(client, email="ada.private@example.gov.uk", department="HM Treasury")
    complete(client)
    user = store.user_by_email("ada.private@example.gov.uk")
    assert user is not None
    cert = db.for_user(store, user.id, COURSE_IRI)
    assert cert is not None
    stranger = TestClient(client.app, follow_redirects=False)
    page = stranger.get(f"/certificates/{cert.display_code}")
    assert page.status_code == 200
    html = page.text
    assert "This certificate is genuine" in html
    assert "Ada Lovelace" in html and "Demo course" in html and govuk_date(cert.issued_at) in html
    for private in ("ada.private", "HM Treasury", user.public_id, "Director", "Signed in as", "Sign out"):
        assert private not in html, private
    # Typed by hand: any case, without dashes, redirects to the certificate's own address.
    moved = stranger.get(f"/certificates/{cert.code.lower()}")
    assert moved.status_code == 301 and moved.headers["location"] == f"/certificates/{cert.display_code}"
    typed = stranger.get("/certificates", params={"code": " " + cert.code.lower() + " "})
    assert typed.status_code == 303 and typed.headers["location"] == f"/certificates/{cert.display_code}"


def test_unknown_and_malformed_codes(app: tuple[TestClient, Store]) -> None:
    client, _store = app
    visitor = TestClient(client.app, follow_redirects=False)
    form = visitor.get("/certificates")
    assert form.status_code == 200 and "Check a certificate" in form.text and 'name="code"' in form.text
    unknown = visitor.get("/certificates/MC-0000-0000-0000")
    assert unknown.status_code == 404 and "No certificate has that code" in unknown.text
    assert 'action="/certificates"' in unknown.text and 'method="get"' in unknown.text
    malformed = visitor.get("/certificates/<script>alert(1)</script>")
    assert malformed.status_code == 404 and "<script>alert" not in malformed.text
    empty = visitor.get("/certificates", params={"code": ""})
    assert empty.status_code == 422 and 'href="#code"' in empty.text
    assert "Enter the certificate&#39;s verification code" in empty.text or "Enter the certificate's" in empty.text
    bad = visitor.get("/certificates", params={"code": "MC-12"})
    assert bad.status_code == 422 and "Enter the code as it is on the certificate" in bad.text
    assert 'value="MC-12"' in bad.text


def test_guessing_codes_is_rate_limited(app: tuple[TestClient, Store], caplog: pytest.LogCaptureFixture) -> None:
    client, store = app
    register(client)
    complete(client)
    cert = ada_certificate(store)
    visitor = TestClient(client.app, follow_redirects=False)
    # 300 from one address: the employers in a department check codes through its few shared addresses, and some
    # are mistyped. A script guessing 60-bit codes still stops long before it could find one.
    for n in range(300):
        assert visitor.get(f"/certificates/MC-0000-0000-{n:04d}").status_code == 404
    assert visitor.get("/certificates/MC-0000-0000-0099").status_code == 429
    blocked = visitor.get(f"/certificates/{cert.display_code}")
    assert blocked.status_code == 429 and "Wait 15 minutes" in blocked.text
    # Told once, so that an operator sees a script at work.
    told = [r.getMessage() for r in caplog.records if "certificate checks from" in r.getMessage()]
    assert told == ["certificate checks from testclient locked for 15 minutes after 300 unknown codes"]


# --- revocation ----------------------------------------------------------------------------------------------

def admin_post(client: TestClient, path: str, **data: str) -> Any:
    token = csrf(client, "/admin/certificates")
    return client.post(path, data={"csrf_token": token, **data})


def test_an_admin_revokes_with_a_reason(app: tuple[TestClient, Store]) -> None:
    client, store = app
    register(client)
    complete(client)
    cert = ada_certificate(store)
    admin = learner(client, "boss@example.gov.uk", "The Boss", "admin", store)
    listing = admin.get("/admin/certificates")
    assert listing.status_code == 200 and cert.display_code in listing.text and "ada@example.gov.uk" in listing.text
    # Admins reach it from the service navigation, marked as the current page there; learners see no such link.
    assert re.search(r'<li class="govuk-service-navigation__item govuk-service-navigation__item--active">\s*'
                     r'<a class="govuk-service-navigation__link" href="/admin/certificates"\s*aria-current=',
                     listing.text)
    assert 'href="/admin/certificates"' in admin.get("/demo/").text
    assert 'href="/admin/certificates"' not in client.get("/demo/").text
    assert 'href="/admin/certificates"' not in client.get("/my-data").text
    assert cert.display_code in admin.get("/admin/certificates", params={"q": "ada@"}).text
    assert cert.display_code in admin.get("/admin/certificates", params={"q": cert.code.lower()}).text
    assert cert.display_code not in admin.get("/admin/certificates", params={"q": "nobody%"}).text
    url = f"/admin/certificates/{cert.display_code}"
    assert admin.get(url).status_code == 200

    missing = admin_post(admin, url + "/revoke", reason="   ")
    assert missing.status_code == 422 and 'href="#reason"' in missing.text
    assert "Enter why you are revoking this certificate" in missing.text
    assert not ada_certificate(store).revoked

    done = admin_post(admin, url + "/revoke", reason="Completed on <someone else's> account")
    assert done.status_code == 303 and done.headers["location"] == url + "?revoked=1"
    revoked = ada_certificate(store)
    assert revoked.revoked and revoked.revoked_by == "boss@example.gov.uk"
    assert revoked.revoked_reason == "Completed on <someone else's> account"
    shown = admin.get(done.headers["location"]).text
    assert "is revoked" in shown and "boss@example.gov.uk" in shown and "Revoke certificate" not in shown
    assert admin_post(admin, url + "/revoke", reason="Again").status_code == 409

    public = TestClient(client.app).get(f"/certificates/{cert.display_code}")
    assert public.status_code == 200 and "This certificate was revoked" in public.text
    assert "Completed on &lt;someone else&#39;s&gt; account" in public.text
    assert govuk_date(revoked.revoked_at) in public.text
    assert "boss@example.gov.uk" not in public.text and "genuine" not in public.text
    own = client.get("/demo/certificate")
    assert own.status_code == 200 and "Your certificate was revoked" in own.text
    assert "&lt;someone else&#39;s&gt;" in own.text and "Print this certificate" not in own.text
    assert "Your certificate was revoked" in client.get("/demo/").text


def test_access_to_each_route(app: tuple[TestClient, Store]) -> None:
    client, store = app
    register(client)
    complete(client)
    cert = ada_certificate(store)
    admin_url = f"/admin/certificates/{cert.display_code}"
    anonymous = TestClient(client.app, follow_redirects=False)
    other = learner(client, "eve@example.gov.uk", "Eve Other")
    facilitator = learner(client, "fay@example.gov.uk", "Fay Facilitator", "facilitator", store)
    admin = learner(client, "boss@example.gov.uk", "The Boss", "admin", store)

    # The learner's certificate page: each person sees only their own.
    assert anonymous.get("/demo/certificate").status_code == 303
    assert anonymous.get("/demo/certificate").headers["location"] == "/sign-in?next=/demo/certificate"
    assert client.get("/demo/certificate").status_code == 200
    for person in (other, facilitator, admin):
        page = person.get("/demo/certificate")
        assert page.status_code == 404 and cert.display_code not in page.text and "Ada" not in page.text
    assert client.get("/nocourse/certificate").status_code == 404

    # Verification is public.
    for person in (anonymous, client, other, facilitator, admin):
        assert person.get(f"/certificates/{cert.display_code}").status_code == 200

    # Administration is for admins only.
    for path in ("/admin/certificates", admin_url):
        assert anonymous.get(path).status_code == 303
        for person in (client, other, facilitator):
            page = person.get(path)
            assert page.status_code == 403 and cert.display_code not in page.text
        assert admin.get(path).status_code == 200
    assert admin.get("/admin/certificates/MC-0000-0000-0000").status_code == 404
    for person in (client, other, facilitator):
        token = csrf(person, "/demo/")
        response = person.post(admin_url + "/revoke", data={"csrf_token": token, "reason": "No"})
        assert response.status_code == 403
    assert anonymous.post(admin_url + "/revoke", data={"reason": "No"}).status_code in (303, 403)
    # Without its CSRF token, not even an admin's form is taken.
    assert admin.post(admin_url + "/revoke", data={"reason": "No"}).status_code == 403
    assert admin.post(admin_url + "/revoke", data={"reason": "No", "csrf_token": "0" * 64}).status_code == 403
    assert not ada_certificate(store).revoked
    assert admin_post(admin, "/admin/certificates/MC-0000-0000-0000/revoke", reason="R").status_code == 404


def test_my_data_includes_certificates(app: tuple[TestClient, Store]) -> None:
    client, store = app
    register(client)
    complete(client)
    data = json.loads(client.get("/my-data/download").text)
    assert data["certificates"] == [{
        "code": ada_certificate(store).display_code, "course_iri": COURSE_IRI, "name": "Ada Lovelace",
        "course_title": "Demo course", "title": "Certificate of achievement",
        "signed_by": "Director, Innovation Programme", "issued_at": ada_certificate(store).issued_at,
        "revoked_at": None, "revoked_reason": None}]
    assert "enrolments" in data


def test_deleting_the_account_deletes_its_certificates(app: tuple[TestClient, Store]) -> None:
    client, store = app
    register(client)
    complete(client)
    code = ada_certificate(store).display_code
    token = csrf(client, "/my-data")
    assert client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    assert store.conn.execute("SELECT COUNT(*) FROM certificates").fetchone()[0] == 0
    assert TestClient(client.app).get(f"/certificates/{code}").status_code == 404


# --- the command line ----------------------------------------------------------------------------------------

def test_cli_lists_and_revokes(app: tuple[TestClient, Store], tmp_path: Path) -> None:
    client, store = app
    register(client)
    complete(client)
    cert = ada_certificate(store)
    runner = CliRunner()
    database = str(tmp_path / "certs.db")
    listed = runner.invoke(cli, ["certificates", "list", "--db", database])
    assert listed.exit_code == 0, listed.output
    assert cert.display_code in listed.output and "valid" in listed.output and "ada@example.gov.uk" in listed.output
    assert runner.invoke(cli, ["certificates", "list", "--search", "nobody", "--db", database]).output.strip() == (
        "No certificates found.")
    no_reason = runner.invoke(cli, ["certificates", "revoke", cert.display_code, "--db", database])
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    unknown = runner.invoke(cli, ["certificates", "revoke", "MC-0000-0000-0000", "--reason", "R", "--db", database])
    assert unknown.exit_code == 1 and "no certificate has the code" in unknown.output
    done = runner.invoke(cli, ["certificates", "revoke", cert.code.lower(), "--reason", "Duplicate account",
                               "--by", "Ops team", "--db", database])
    assert done.exit_code == 0 and f"Revoked {cert.display_code}" in done.output
    revoked = ada_certificate(store)
    assert (revoked.revoked_by, revoked.revoked_reason) == ("Ops team", "Duplicate account")
    again = runner.invoke(cli, ["certificates", "revoke", cert.display_code, "--reason", "R", "--db", database])
    assert again.exit_code == 1 and "already revoked" in again.output and "Traceback" not in again.output
    assert "revoked" in runner.invoke(cli, ["certificates", "list", "--db", database]).output
