"""Bulk onboarding at scale: 10,000-row XLSX and CSV files onboarded end to end, exact counts, no duplicates."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.bulk_helpers import bulk_setup, csv_file, file_rows, start_job, upload, wait_for_job, xlsx_file

pytestmark = pytest.mark.slow

ROWS = 10_000


async def _producer_counts(app: Any, tenant_id: str) -> tuple[int, int]:
    """Producers with an NPN in the tenant, and NPNs held by more than one of them."""
    async with app.state.sessions() as session:
        total = (await session.execute(text("SELECT count(*) FROM producers WHERE tenant_id = :t AND npn IS NOT NULL"),
                                       {"t": tenant_id})).scalar_one()
        repeated = (await session.execute(text("""SELECT count(*) FROM (SELECT npn FROM producers
            WHERE tenant_id = :t AND npn IS NOT NULL GROUP BY npn HAVING count(*) > 1) d"""), {"t": tenant_id})).scalar_one()
    return int(total), int(repeated)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_ten_thousand_rows_are_onboarded_exactly_once(app, gql, http, new_tenant, fmt):
    # given 10,000 registry producers and a file listing each of them
    s = await bulk_setup(app, gql, new_tenant, count=ROWS)
    rows = file_rows(s.entries)
    content = xlsx_file(rows) if fmt == "xlsx" else csv_file(rows)

    # when the file is uploaded, validated and onboarded
    began = time.monotonic()
    result = await upload(http, s.admin, content, filename=f"producers.{fmt}")
    validated_in = time.monotonic() - began
    job = result["job"]
    assert (job["totalRows"], job["validRows"], job["invalidRows"]) == (ROWS, ROWS, 0)
    assert validated_in < 30, f"validation took {validated_in:.1f}s"
    await start_job(gql, s.admin, job["id"])
    done = await wait_for_job(gql, s.admin, job["id"], seconds=240)

    # then every row succeeded and each producer exists once
    assert (done["status"], done["succeededRows"], done["failedRows"]) == ("COMPLETED", ROWS, 0)
    assert done["progress"]["processed"] == ROWS and done["progress"]["rowsPerSecond"] > 0
    assert await _producer_counts(app, s.tenant_id) == (ROWS, 0)
