"""The segment router picks exactly the route Starlette's linear scan would pick, for every path."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.testclient import TestClient

from engine.web import auth, certificates, mydata, pages, passwords, reports
from engine.web.routing import SegmentRouter, signature
from webhelpers import make_app

ROOT = Path(__file__).resolve().parents[1]


def linear(routes: list[BaseRoute], scope: dict[str, object]) -> tuple[BaseRoute | None, str]:
    """Starlette's choice: the first full match, else the first partial match."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, "full"
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial, "partial" if partial else "none"


def scope_for(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def sample_paths(routes: list[BaseRoute], rng: random.Random) -> list[str]:
    """Each route's path with its parameters filled in several ways, mixed with the other routes' words."""
    words = sorted({segment for route in routes if isinstance(route, Route | Mount)
                    for segment in route.path.split("/") if segment and "{" not in segment})
    values = ["innovation-masterclass", "00-start", "welcome", "x", "", "a/b", *rng.sample(words, min(8, len(words)))]
    paths = {"/", "//", "/nowhere", "/nowhere/", "/a/b/c/d/e/f"}
    for route in routes:
        if not isinstance(route, Route | Mount):
            continue
        for _ in range(12):
            filled = re.sub(r"\{[^}]+\}", lambda _m: rng.choice(values) or "v", route.path)
            paths.update({filled or "/", filled + "/", filled.rstrip("/") or "/"})
            if isinstance(route, Mount):
                paths.add(filled + "/" + rng.choice(values))
    for a, b in itertools.product(words[:12], repeat=2):
        paths.update({f"/{a}/{b}", f"/{a}/{b}/", f"/x/{a}/{b}"})
    return sorted(paths)


def test_every_path_gets_starlettes_route(tmp_path: Path) -> None:
    client, _store = make_app(ROOT / "content", tmp_path / "t.db")
    app = client.app.app  # type: ignore[attr-defined]  # inside the Guard middleware
    router = app.router
    assert isinstance(router, SegmentRouter)
    rng = random.Random(5)
    paths = sample_paths(router.routes, rng)
    assert len(paths) > 300
    for path, method in itertools.product(paths, ["GET", "POST", "PUT"]):
        scope = scope_for(method, path)
        expected = linear(router.routes, scope)
        assert linear(router.candidates(path), scope) == expected, (method, path)


def test_literal_routes_before_parameters_keep_their_order() -> None:
    async def name(request: Request) -> Response:
        return PlainTextResponse(request.scope["route"].name)

    routes = [
        Route("/", name, name="home"),
        Route("/reports/{course}/learners", name, name="learners"),
        Route("/{course}/", name, name="course"),
        Route("/{course}/{module}/{lesson}", name, name="lesson"),
        Route("/{course}/{module}/{lesson}", name, name="lesson-post", methods=["POST"]),
        Route("/reports/{course}/{x}", name, name="never"),  # after the parameter route: Starlette never gets here
        Route("/files/{rest:path}", name, name="files"),
    ]
    app = Starlette(routes=routes)
    app.router = SegmentRouter(routes)
    client = TestClient(app)
    assert client.get("/").text == "home"
    assert client.get("/reports/c/learners").text == "learners"
    assert client.get("/reports/c/other").text == "lesson"
    assert client.post("/reports/c/other").text == "lesson-post"
    assert client.delete("/a/b/c").status_code == 405
    assert client.get("/files/a/b/c").text == "files"
    assert client.get("/c").status_code == 200  # redirected to /c/ as Starlette does
    assert client.get("/a/b/c/d").status_code == 404


def test_a_path_asked_again_gets_the_same_route_with_parameters_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.web.routing as routing

    seen: list[dict[str, object]] = []
    objects: list[dict[str, object]] = []

    async def lesson(request: Request) -> Response:
        seen.append(dict(request.path_params))
        objects.append(request.path_params)
        request.path_params["changed"] = "by the endpoint"  # must not reach the next request
        return PlainTextResponse(f"{request.scope['route'].name} {request.path_params['lesson']}")

    routes = [Route("/{course}/{module}/{lesson}", lesson, name="lesson"),
              Route("/{course}/{module}/{lesson}", lesson, name="lesson-post", methods=["POST"])]
    app = Starlette(routes=routes)
    app.router = router = SegmentRouter(routes)
    client = TestClient(app)
    assert [client.get("/c/m/one").text for _ in range(3)] == ["lesson one"] * 3
    assert client.post("/c/m/one").text == "lesson-post one"  # kept by method and path
    assert seen == [{"course": "c", "module": "m", "lesson": "one"}] * 4
    assert len({id(params) for params in objects}) == 4
    assert len(router._matched) == 2

    monkeypatch.setattr(routing, "MAX_KEPT_MATCHES", 3)
    for n in range(5):
        assert client.get(f"/c/m/{n}").text == f"lesson {n}"
    assert len(router._matched) <= 3
    assert client.get("/c/m/" + "x" * routing.MAX_KEPT_PATH).status_code == 200
    assert ("GET", "/c/m/" + "x" * routing.MAX_KEPT_PATH) not in router._matched  # too long to keep

    async def other(request: Request) -> Response:
        return PlainTextResponse("other")

    router.routes.insert(0, Route("/c/m/one", other))  # the routes changed: nothing kept from before is used
    assert client.get("/c/m/one").text == "other"


@pytest.mark.parametrize(("path", "expected"), [
    ("/", ("", None, 1)),
    ("/health", ("health", None, 1)),
    ("/{course}/", (None, "", 2)),
    ("/reports/{course}/learners", ("reports", None, 3)),
    ("/{course}/capstone/ideas", (None, "capstone", 3)),
    ("/{rest:path}", (None, None, None)),
    ("/files/{rest:path}", ("files", None, None)),
])
def test_signature(path: str, expected: tuple[str | int | None, ...]) -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("")

    assert signature(Route(path, endpoint)) == expected


FIXED_PATHS = sorted(
    {route.path for route in [*auth.routes, *passwords.routes, *mydata.routes, *pages.routes, *certificates.routes,
                               *reports.routes]
     if isinstance(route, Route) and "{" not in route.path}
    | {"/", "/health", "/govuk-frontend.min.js", "/xapi"})
"""The service's own paths without parameters (the preview's are in an app of its own)."""
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    client, _store = make_app(ROOT / "content", tmp_path_factory.mktemp("routing") / "t.db")
    return client


def test_every_fixed_path_of_the_service_is_tried(service: TestClient) -> None:
    literal = {route.path for route in service.app.app.router.routes  # type: ignore[attr-defined]
               if isinstance(route, Route) and "{" not in route.path}
    assert literal == set(FIXED_PATHS)


@pytest.mark.parametrize("path", FIXED_PATHS)
def test_a_fixed_path_asked_with_another_method_answers_405_with_allow(service: TestClient, path: str) -> None:
    """Not the course routes' 404: ``GET /sign-out`` was taken by ``/{course}`` as a course called sign-out."""
    route = next(r for r in service.app.app.router.routes  # type: ignore[attr-defined]
                 if isinstance(r, Route) and r.path == path)
    assert route.methods
    refused = [method for method in METHODS if method not in route.methods]
    assert refused, path
    for method in refused:
        page = service.request(method, path)
        assert page.status_code == 405, (method, path, page.status_code)
        assert set(page.headers["allow"].split(", ")) == route.methods, (method, path)
        if method != "HEAD":
            assert "You cannot do that here" in page.text, (method, path)
        data = service.request(method, path, headers={"accept": "application/json"})
        assert data.status_code == 405 and set(data.headers["allow"].split(", ")) == route.methods
        if method != "HEAD":
            assert data.json()["error"] == "You cannot do that here", (method, path)


def test_an_earlier_literal_route_for_other_methods_beats_a_later_parameter_route() -> None:
    async def name(request: Request) -> Response:
        return PlainTextResponse(request.scope["route"].name)

    routes = [Route("/sign-out", name, name="sign-out", methods=["POST"]),
              Route("/{course}", name, name="course"),
              Route("/{course}/{module}", name, name="module", methods=["POST"]),
              Route("/files/{name}", name, name="files")]  # after the parameter route: Starlette's order holds
    app = Starlette(routes=routes)
    app.router = SegmentRouter(routes)
    client = TestClient(app)
    assert client.post("/sign-out").text == "sign-out"
    refused = client.get("/sign-out")
    assert (refused.status_code, refused.headers["allow"]) == (405, "POST")
    assert client.head("/sign-out").status_code == 405
    assert client.get("/demo").text == "course"
    assert client.post("/files/a").text == "module"


def test_a_slash_redirect_stays_on_the_service_whatever_the_host_header(tmp_path: Path) -> None:
    """Starlette's slash redirect is absolute, built from the request's Host header (and, behind a trusted proxy,
    X-Forwarded-Proto): any client could point it at another site, and a cache in front could keep that. The
    service's is relative: the same path with or without its slash, and the query."""
    client, _store = make_app(ROOT / "content", tmp_path / "t.db")
    response = client.get("/reports/x?a=1&b=%20", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/reports/x/?a=1&b=%20"
    made_up = client.get("/innovation-masterclass", headers={"Host": "evil.example"}, follow_redirects=False)
    assert made_up.headers["location"] == "/innovation-masterclass/"


@pytest.mark.parametrize("path", ["//evil.example", "//evil.example/", "/\\evil.example"])
def test_a_path_that_would_redirect_off_the_service_is_not_redirected(tmp_path: Path, path: str) -> None:
    client, _store = make_app(ROOT / "content", tmp_path / "t.db")
    response = client.get(path, follow_redirects=False)
    location = response.headers.get("location", "")
    assert not location.startswith(("//", "/\\", "http")), location


def test_the_slash_redirect_of_a_small_app_is_relative_too() -> None:
    routes = [Route("/c/", lambda request: PlainTextResponse("c"))]
    app = Starlette(routes=routes)
    app.router = SegmentRouter(routes)
    response = TestClient(app).get("/c?x=%2F", headers={"Host": "evil.example"}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, "/c/?x=%2F")


@pytest.mark.parametrize("path", [p for p in FIXED_PATHS if p not in ("/xapi", "/health")])
def test_head_answers_as_get_does_on_a_page_that_is_also_a_form(service: TestClient, path: str) -> None:
    """A form's page is shown to GET and HEAD alike: HEAD once went the POST way, to the CSRF check's 403."""
    route = next(r for r in service.app.app.router.routes  # type: ignore[attr-defined]
                 if isinstance(r, Route) and r.path == path)
    if not {"GET", "POST"} <= (route.methods or set()):
        return
    got, head = service.get(path), service.head(path)
    assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
    assert head.content == b""
