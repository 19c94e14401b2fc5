"""The authorization matrix: every route x no key, a wrong key, too low a role, another
district; and the open routes."""

from __future__ import annotations

import pytest

from api.main import create_app
from api.settings import Settings

OPEN = {("GET", "/health")}

# (method, path) -> role needed; results routes also honour district scopes.
MATRIX = {
    ("POST", "/datasets"): "planner",
    ("GET", "/datasets"): "viewer",
    ("GET", "/datasets/{dataset_id}"): "viewer",
    ("DELETE", "/datasets/{dataset_id}"): "planner",
    ("POST", "/runs"): "planner",
    ("GET", "/runs"): "viewer",
    ("GET", "/runs/{run_id}"): "viewer",
    ("POST", "/runs/{run_id}/cancel"): "planner",
    ("DELETE", "/runs/{run_id}"): "planner",
    ("GET", "/runs/{run_id}/assignments"): "viewer",
    ("GET", "/runs/{run_id}/assignments.csv"): "viewer",
    ("GET", "/runs/{run_id}/assignments.parquet"): "viewer",
    ("GET", "/runs/{run_id}/demand_status"): "viewer",
    ("GET", "/runs/{run_id}/demand_status.csv"): "viewer",
    ("GET", "/runs/{run_id}/demand_status.parquet"): "viewer",
    ("GET", "/runs/{run_id}/funding"): "viewer",
    ("GET", "/runs/{run_id}/funding.csv"): "viewer",
    ("GET", "/runs/{run_id}/funding.parquet"): "viewer",
    ("GET", "/runs/{run_id}/leads"): "viewer",
    ("GET", "/runs/{run_id}/leads.csv"): "viewer",
    ("GET", "/runs/{run_id}/leads.parquet"): "viewer",
    ("GET", "/runs/{run_id}/kpis"): "viewer",
    ("GET", "/runs/{run_id}/communities.geojson"): "viewer",
    ("GET", "/runs/{run_id}/report"): "viewer",
    ("GET", "/runs/{run_id}/project-list.xlsx"): "viewer",
    ("GET", "/runs/{run_id}/diff"): "viewer",
    ("GET", "/runs/{run_id}/bottlenecks"): "viewer",
    ("GET", "/runs/{run_id}/demands/{demand_id}/explanation"): "viewer",
    ("GET", "/runs/{run_id}/summaries"): "viewer",
    ("POST", "/recommendations"): "planner",
    ("GET", "/recommendations"): "viewer",
    ("GET", "/recommendations/{run_id}"): "viewer",
    ("POST", "/recommendations/{run_id}/cancel"): "planner",
    ("DELETE", "/recommendations/{run_id}"): "planner",
    ("GET", "/recommendations/{run_id}/summary"): "viewer",
    ("GET", "/recommendations/{run_id}/tables/{table}"): "viewer",
    ("GET", "/recommendations/{run_id}/tables/{table}.csv"): "viewer",
    ("GET", "/template.xlsx"): "viewer",
    ("POST", "/keys"): "admin",
    ("GET", "/keys"): "admin",
    ("DELETE", "/keys/{key_id}"): "admin",
}
DISTRICT_SCOPED = [
    path
    for (method, path) in MATRIX
    if path.startswith("/runs/{run_id}/")
    and method == "GET"
    # the report refuses scoped keys; the diff scopes both plans (test_api_compare.py);
    # explanations are scoped per demand and per supplier district (test_api_explain.py)
    and not path.endswith(("/cancel", "/report", "/diff", "/explanation", "/bottlenecks"))
]
LOWER = {"viewer": [], "planner": ["viewer"], "admin": ["viewer", "planner"]}


def _routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite://"), start_dispatcher=False)
    schema = app.openapi()
    return {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}


def _cycle_routes(prefix: str) -> list[tuple[str, str]]:
    return sorted(r for r in _routes() if r[1].startswith(prefix))


CYCLE_ROUTES = _cycle_routes("/cycles")
"""The cycle's routes: any key's role is checked against the role table
(matcher.cycle.roles; tests/api/test_api_cycle_roles.py), never a rank."""

PUBLIC_ROUTES = _cycle_routes("/public")
"""The public notice and evaluation: no key."""

CYCLE_IDS = {
    "cycle_id": "nope",
    "action": "submit",
    "table": "demands",
    "row_id": "D1",
    "version": "1",
    "delivery_id": "1",
    "objection_id": "1",
    "community_id": "C1",
}


def test_matrix_covers_every_route() -> None:
    assert _routes() == set(MATRIX) | OPEN | set(CYCLE_ROUTES) | set(PUBLIC_ROUTES)
    assert CYCLE_ROUTES and PUBLIC_ROUTES


@pytest.mark.parametrize(("method", "path"), CYCLE_ROUTES)
def test_every_cycle_route_needs_a_key(world, method: str, path: str) -> None:
    svc, _ids = world
    url = path.format(**CYCLE_IDS)
    for headers in ({}, {"X-API-Key": "mk_wrong"}):
        r = svc.client.request(method, url, json={}, headers=headers)
        assert r.status_code == 401, (headers, r.text)
    # a valid key of any role passes authentication (the cycle does not exist: 404)
    r = svc.client.request(method, url, json={}, headers=svc.h("community"))
    assert r.status_code in (200, 404, 422), r.text


@pytest.mark.parametrize(("method", "path"), PUBLIC_ROUTES)
def test_public_routes_need_no_key(world, method: str, path: str) -> None:
    svc, _ids = world
    r = svc.client.request(method, path.format(**CYCLE_IDS), json={})
    assert r.status_code in (404, 422), r.text


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_cycle_roles_do_not_use_the_plan_api(world, method: str, path: str) -> None:
    svc, ids = world
    for role in ("community", "unit", "street_reviewer", "district_reviewer"):
        r = _call(svc, method, path, ids, svc.h(role))
        assert r.status_code == 403, (role, r.text)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, rules_zip: bytes, kit):
    """One service with a dataset and a succeeded run, shared by the matrix's cases
    (the cases change nothing: every call is refused or reads)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'store.db'}"
    keys = kit.make_keys(url)
    # rate limits off: the matrix sends hundreds of wrong keys from one address, which the
    # failed-auth limit would answer with 429 (that limit: test_api_brakes.py)
    app = create_app(Settings(database_url=url, dispatch_interval_s=0.05, rate_limits=False))
    with kit.TestClient(app) as client:
        svc = kit.Service(client, url, keys)
        ds = svc.upload(rules_zip)  # with funds and lead options: every table has rows
        run = svc.wait(svc.start_run(ds["id"])["id"])
        assert run["status"] == "succeeded"
        ids = {"dataset_id": ds["id"], "run_id": run["id"], "key_id": "999999", "demand_id": "D1"}
        yield svc, {**ids, "table": "recommendations"}


def _call(svc, method: str, path: str, ids: dict[str, str], headers: dict[str, str]):
    url = path.format(**ids)
    body = {"dataset_id": ids["dataset_id"]} if path == "/runs" else None
    if path == "/recommendations" and method == "POST":
        body = {"dataset_id": ids["dataset_id"], "kind": "alliances"}
    if path == "/keys":
        body = {"role": "viewer"}
    if path == "/datasets" and method == "POST":
        return svc.client.post(
            url, content=b"PK", headers={**headers, "Content-Type": "application/zip"}
        )
    return svc.client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_no_key_or_a_wrong_key_is_401(world, method: str, path: str) -> None:
    svc, ids = world
    for headers in ({}, {"X-API-Key": "mk_wrong"}, {"Authorization": "Bearer mk_wrong"}):
        r = _call(svc, method, path, ids, headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["code"] == "unauthorized"
        assert "www-authenticate" in r.headers


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_too_low_a_role_is_403(world, method: str, path: str) -> None:
    svc, ids = world
    for role in LOWER[MATRIX[(method, path)]]:
        r = _call(svc, method, path, ids, svc.h(role))
        assert r.status_code == 403, (role, r.text)
        assert r.json()["code"] == "forbidden"
    # the role itself passes authorization (whatever the route then says); deletes aim
    # at missing ids so that the shared world stays as it is
    if method == "DELETE":
        ids = {**ids, "dataset_id": "missing", "run_id": "missing", "key_id": "999999"}
    r = _call(svc, method, path, ids, svc.h(MATRIX[(method, path)]))
    assert r.status_code not in (401, 403), r.text


@pytest.mark.parametrize("path", sorted(DISTRICT_SCOPED))
def test_other_district_is_403_and_own_district_only(world, path: str) -> None:
    svc, ids = world
    url = path.format(**ids)
    other = svc.client.get(url, params={"district": "Taijiang"}, headers=svc.h("gulou"))
    assert other.status_code == 403 and other.json()["code"] == "forbidden_district"
    own = svc.client.get(url, headers=svc.h("gulou"))
    assert own.status_code == 200
    everything = svc.client.get(url, headers=svc.h("viewer"))
    assert len(own.content) < len(everything.content)
    if path.endswith(("/assignments", "/demand_status", "/funding", "/leads")):
        assert {i["district"] for i in own.json()["items"]} == {"Gulou"}
    if path.endswith(".geojson"):
        assert {f["properties"]["district"] for f in own.json()["features"]} == {"Gulou"}
    if path.endswith("/kpis"):
        assert set(own.json()["coverage_by_district"]) == {"Gulou"}
        assert "objective" not in own.json()


def test_scoped_key_sees_only_its_district_in_run_views(world) -> None:
    svc, ids = world
    run = svc.client.get(f"/runs/{ids['run_id']}", headers=svc.h("gulou")).json()
    assert set(run["kpis"]["coverage_by_district"]) == {"Gulou"}
    assert run["objective"] is None and run["hours_covered"] is None
    listed = svc.client.get(f"/runs/{ids['run_id']}", headers=svc.h("gulou_planner")).json()
    assert set(listed["kpis"]["coverage_by_district"]) == {"Gulou"}


def test_open_routes_and_docs(svc) -> None:
    assert svc.client.get("/health").status_code == 200
    r = svc.client.request("OPTIONS", "/runs/abc", headers=svc.h())
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
    assert r.json()["code"] == "method_not_allowed"
    r = svc.client.put("/runs/abc/assignments.csv", headers=svc.h())
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert svc.client.get("/openapi.json").status_code == 200
    assert svc.client.get("/docs").status_code == 200


def test_bearer_and_key_lifecycle(svc) -> None:
    r = svc.client.post(
        "/keys",
        json={"role": "viewer", "name": "temp", "districts": ["Gulou"]},
        headers=svc.h("admin"),
    )
    assert r.status_code == 201
    created = r.json()
    token = created["key"]
    assert created["districts"] == ["Gulou"] and token.startswith(created["prefix"])
    listed = svc.client.get("/keys", headers=svc.h("admin")).json()
    assert all("key" not in k for k in listed) and created["id"] in {k["id"] for k in listed}
    assert (
        svc.client.get("/datasets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert svc.client.delete(f"/keys/{created['id']}", headers=svc.h("admin")).status_code == 204
    assert svc.client.get("/datasets", headers={"X-API-Key": token}).status_code == 401
    assert (
        svc.client.post("/keys", json={"role": "root"}, headers=svc.h("admin")).status_code == 422
    )
    assert svc.client.delete("/keys/99999", headers=svc.h("admin")).status_code == 404


def test_keys_are_stored_hashed(svc) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(svc.url)
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("select key_hash from api_keys"))]
    engine.dispose()
    assert all(len(h) == 64 for h in stored)
    assert not set(svc.keys.values()) & set(stored)


def test_malformed_authorization_is_401_beside_a_valid_key(svc) -> None:
    for value in ("t", "Basic dXNlcjpwYXNz", "Bearer "):
        r = svc.client.get("/datasets", headers={**svc.h("viewer"), "Authorization": value})
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", value
    assert svc.client.get("/datasets", headers=svc.h("viewer")).status_code == 200
