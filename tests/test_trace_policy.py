"""Which runs record a Playwright trace. A trace makes each page ~50% slower (see
docs/benchmarks.md), so read-only commands record one only with --trace; reset always does
(tests/test_failures.py checks its trace.zip after each kind of failure)."""

from __future__ import annotations

from tests.conftest import portal_secrets
from tests.runs import assert_diagnosis


def test_check_failing_after_login_keeps_a_folder_without_trace(cli, portal):
    other_account_siret = portal.state.structures_for("paul.durand")[0].siret

    result = cli("check", "--structure", other_account_siret)

    assert result.returncode == 1, result.output
    assert_diagnosis(result, step="Mes structures", trace=False)


def test_check_with_trace_records_one(cli, portal):
    other_account_siret = portal.state.structures_for("paul.durand")[0].siret

    result = cli("check", "--structure", other_account_siret, "--trace")

    assert result.returncode == 1, result.output
    assert_diagnosis(result, step="Mes structures", trace=True)
    cli.assert_no_secret(portal_secrets(portal))
