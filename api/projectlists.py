"""A stored run's project list (:mod:`matcher.report.projectlist`) as workbook bytes: the
run's tables and lead units read from the store, only the districts asked for."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from api import store
from api.artifacts import stored_plan
from api.db.models import DatasetRow, Run
from api.errors import ApiError
from matcher.i18n import N_, Text
from matcher.report.projectlist import write_project_list

__all__ = ["project_list_bytes"]


def project_list_bytes(
    session: Session, run: Run, lang: str, public: bool, districts: list[str] | None
) -> bytes:
    """The run's project list as ``.xlsx`` bytes (409 if its dataset is gone)."""
    row = session.get(DatasetRow, run.dataset_id)
    if row is None:
        raise ApiError(409, "no_dataset", Text(N_("the dataset of run {id} is gone"), id=run.id))
    tables = stored_plan(session, run, districts)
    dataset = store.load_dataset(session, run.dataset_id, row.name)
    buffer = io.BytesIO()
    write_project_list(tables, dataset, buffer, lang=lang, public=public, districts=districts)
    return buffer.getvalue()
