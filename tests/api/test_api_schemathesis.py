"""Schemathesis against the app's own OpenAPI schema (ASGI; every check and phase).

Asserts no server errors and no schema violations (response bodies, status codes,
content types, headers, ``Allow``). ``positive_data_acceptance`` failures are allowed in
exactly the cases the issue requires a 422 for a body that fits the schema: a JSON or
zip dataset that does not validate (its issues are listed), an ``Idempotency-Key``
reused with another body, recommendation options the library refuses beyond what a
JSON schema can say (``max_partners`` below ``min_partners``, a scope value that no
community of the dataset has), and ``district`` asked of the pairing ``units`` table,
which is not by district (``not_by_district``, documented on the route).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis.engine import events

from api.main import create_app
from api.settings import Settings

REQUIRED_422 = {
    ("POST", "/datasets", "invalid_dataset"),
    ("POST", "/datasets", "invalid_upload"),
    ("POST", "/runs", "idempotency_key_reused"),
    ("POST", "/recommendations", "idempotency_key_reused"),
    ("POST", "/recommendations", "invalid_parameter"),
    # a cycle leaving out a phase that may not be left out, or starting phases out of
    # order: the schema lists the phases, the library knows which may be skipped
    ("POST", "/cycles", "invalid_parameter"),
}
# the stateful phase follows Location to a run's own tables: concrete paths
NOT_BY_DISTRICT = re.compile(r"^/recommendations/[^/]+/tables/units(\.csv)?$")


def _required_422(failure: tuple[str, str, str, int | None, str]) -> bool:
    check, method, path, status, code = failure
    if check != "positive_data_acceptance" or status != 422:
        return False
    if code == "not_by_district":
        return method == "GET" and bool(NOT_BY_DISTRICT.match(path))
    return (method, path, code) in REQUIRED_422


def _failure(recorder: Any, case_id: str, check: Any) -> tuple[str, str, str, int | None, str]:
    """(check, method, path, status, error code) of one failed check."""
    interaction = recorder.interactions.get(case_id)
    if interaction is None:
        return (check.name, "", "", None, "")
    request, response = interaction.request, interaction.response
    code = ""
    if response is not None:
        try:
            code = str(json.loads(response.content or b"{}").get("code", ""))
        except (ValueError, AttributeError):
            code = ""
    status = response.status_code if response is not None else None
    path = urlsplit(request.uri).path if status == 422 else request.uri
    return (check.name, request.method, path, status, code)


def test_schemathesis_all_checks(tmp_path: Path, kit, example_zip: bytes) -> None:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    keys = kit.make_keys(url)
    # rate limits and the queued-run cap off: thousands of cases from one address and
    # key (the limits themselves: test_api_brakes.py)
    settings = Settings(
        database_url=url, dispatch_interval_s=0.05, rate_limits=False, max_queued_runs_per_key=0
    )
    app = create_app(settings)
    with kit.TestClient(app) as client:  # runs the lifespan: migrations and dispatcher
        svc = kit.Service(client, url, keys)
        ds = svc.upload(example_zip)
        svc.wait(svc.start_run(ds["id"])["id"])
        config = schemathesis.Config.from_dict(
            {
                "headers": {"X-API-Key": keys["admin"]},
                # the service refuses U+0000 in any text (422 naming the field, tested in
                # test_api_hostile_inputs.py): PostgreSQL cannot keep it
                "generation": {"max-examples": 8, "allow-x00": False},
                "seed": 20261128,
            }
        )
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
        failures: Counter[tuple[str, str, str, int | None, str]] = Counter()
        errors: list[str] = []
        cases = 0
        for event in schemathesis.engine.from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                cases += len(event.recorder.cases)
                for case_id, checks in event.recorder.checks.items():
                    for check in checks:
                        if check.failure_info is not None:
                            failures[_failure(event.recorder, case_id, check)] += 1
            elif isinstance(event, events.NonFatalError):
                errors.append(f"{event.label}: {event.value!r}")
            elif isinstance(event, events.FatalError):
                raise event.exception
    print(f"\nschemathesis: {cases} cases, failed checks {dict(failures)}, errors {errors}")
    assert cases > 200
    server_errors = [f for f in failures if f[0] == "not_a_server_error" or (f[3] or 0) >= 500]
    assert not server_errors, server_errors
    unexpected = {f: n for f, n in failures.items() if not _required_422(f)}
    assert not unexpected, unexpected
