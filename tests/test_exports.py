"""`--ics` and `--prometheus` (issue 13): the calendar read back by icalendar and by vobject (an
independent parser that applies our VTIMEZONE itself), the metrics by prometheus_client's
parser, through the CLI against the mock portal; and the contrib/ examples built on them."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import vobject
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot import calendar_file, metrics
from bot.batch import StructureResult
from bot.errors import PortalError
from bot.exports import Expiry, exit_code_of, outcome_of
from bot.jobs import CheckReport
from flows.models import PARIS, TechnicalStatus
from tests.conftest import PAGE3_SIRET, REPO, SIAGEP

EXPIRED_SIRET = "84697880700010"


def _events(path: Path) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    events = {}
    for event in calendar.walk("VEVENT"):
        siret = str(event["SUMMARY"]).split()[-2]
        assert siret not in events, f"two events for {siret}"
        events[siret] = event
    return events


def _vobject(text: str):
    """vobject's reading of one file. It keeps the first VTIMEZONE it ever saw for a TZID,
    for the whole process: forget it, so that each file is read with its own."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    for tzid in [tzid for tzid in registry if tzid != "UTC"]:
        del registry[tzid]
    return vobject.readOne(text)


def _samples(path: Path) -> dict[str, list]:
    families = text_string_to_metric_families(path.read_text(encoding="utf-8"))
    return {family.name: list(family.samples) for family in families}


def _per_siret(samples: list) -> dict[str, tuple[str, float]]:
    return {s.labels["siret"]: (s.labels["login"], s.value) for s in samples}


def _seed(path_ics: Path, path_prom: Path, expiries: list[Expiry], exit_code: int = 0) -> None:
    """What an earlier run left: written by the same code, as a previous run would have."""
    outcome = outcome_of([], complete=False)
    previous = {e.siret: e for e in expiries}
    path_prom.write_bytes(metrics.render(outcome, previous, exit_code))
    seeded = outcome_of([_check(e.siret, e.login, e.expires_at) for e in expiries], complete=True)
    path_ics.write_bytes(calendar_file.render(seeded, {}, warn_days=30))


def test_status_writes_a_calendar_and_metrics_for_every_structure(cli, portal, tmp_path):
    ics, prom = tmp_path / "chorus.ics", tmp_path / "chorus_bot.prom"
    # A structure the manager no longer has: `status` sees them all, so its event goes.
    gone = portal.state.structures_for("paul.durand")[0].siret
    _seed(ics, prom, [Expiry(gone, "TECH_gone", datetime(2027, 3, 1, 9, tzinfo=PARIS))])
    before = time.time()

    result = cli("status", "--ics", str(ics), "--prometheus", str(prom), "--warn-days", "45")

    assert result.returncode == 4, result.output
    records = {record.siret: record for record in portal.state.structures}
    assert len(records) >= 12

    # The calendar, as icalendar reads it.
    calendar = icalendar.Calendar.from_ical(ics.read_bytes())
    events = _events(ics)
    assert set(events) == set(records)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Paris"
    for siret, event in events.items():
        record = records[siret]
        assert str(event["SUMMARY"]) == f"Chorus Pro : mot de passe technique {siret} expire"
        assert event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event.decoded("DTSTART") == record.expiry.replace(microsecond=0)
        assert str(event["UID"]) == f"chorus-bot-technical-password-{siret}@chorus-bot"
        description = str(event["DESCRIPTION"])
        assert record.tech_login in description
        assert f"chorus-bot reset --structure {siret}" in description
        assert f"{record.expiry:%d/%m/%Y}" in description
        triggers = sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))
        assert triggers == [timedelta(days=-45), timedelta(days=-1)]
        assert {str(alarm["ACTION"]) for alarm in event.walk("VALARM")} == {"DISPLAY"}

    # The same file in another parser, which converts with the VTIMEZONE it contains.
    parsed = _vobject(ics.read_text(encoding="utf-8"))
    assert len(parsed.vevent_list) == len(records)
    for event in parsed.vevent_list:
        siret = event.summary.value.split()[-2]
        start = event.dtstart.value
        assert start.tzinfo is not None
        assert start.astimezone(UTC) == records[siret].expiry.replace(microsecond=0)
        assert sorted(alarm.trigger.value for alarm in event.valarm_list) == [
            timedelta(days=-45),
            timedelta(days=-1),
        ]

    # The metrics, as Prometheus reads them.
    samples = _samples(prom)
    expiry = _per_siret(samples[metrics.EXPIRY])
    days = _per_siret(samples[metrics.DAYS_LEFT])
    assert set(expiry) == set(days) == set(records)
    for siret, record in records.items():
        assert expiry[siret] == (record.tech_login, int(record.expiry.timestamp()))
        assert days[siret][0] == record.tech_login
    assert days[EXPIRED_SIRET][1] < 0 < days[SIAGEP][1]
    assert 18 <= days[PAGE3_SIRET][1] <= 20
    (last_run,) = samples[metrics.LAST_RUN]
    assert before <= last_run.value <= time.time()
    (exit_code,) = samples[metrics.LAST_EXIT_CODE]
    assert exit_code.value == 4

    # Written atomically: no temporary file left, readable by node_exporter and web servers.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert ics.stat().st_mode & 0o044 == 0o044
    assert prom.stat().st_mode & 0o044 == 0o044


def test_check_updates_its_structure_and_keeps_the_others(cli, portal, tmp_path):
    """Re-importing updates the event (same UID, higher SEQUENCE) instead of adding one; a
    structure that could not be read keeps what was known of it."""
    ics, prom = tmp_path / "chorus.ics", tmp_path / "chorus_bot.prom"
    unreadable = portal.state.structures_for("paul.durand")[0].siret  # not claire's
    elsewhere = "13627010500028"  # not asked this time
    old = {
        unreadable: Expiry(unreadable, "TECH_unreadable", datetime(2027, 3, 1, 9, tzinfo=PARIS)),
        elsewhere: Expiry(elsewhere, "TECH_elsewhere", datetime(2027, 5, 2, 10, tzinfo=PARIS)),
        SIAGEP: Expiry(SIAGEP, "TECH_old", datetime(2026, 12, 20, 8, tzinfo=PARIS)),
    }
    _seed(ics, prom, list(old.values()))
    previous = _events(ics)

    result = cli(
        "check", "-s", SIAGEP, "-s", unreadable, "--ics", str(ics), "--prometheus", str(prom)
    )

    assert result.returncode == 1, result.output
    events = _events(ics)
    assert set(events) == set(old)
    record = portal.state.structure(SIAGEP)
    moved = events[SIAGEP]
    assert moved["UID"] == previous[SIAGEP]["UID"]
    assert moved.decoded("DTSTART") == record.expiry.replace(microsecond=0)
    assert moved["SEQUENCE"] > previous[SIAGEP]["SEQUENCE"]
    assert record.tech_login in str(moved["DESCRIPTION"])
    for kept in (unreadable, elsewhere):
        assert events[kept].decoded("DTSTART") == old[kept].expires_at
        assert events[kept]["SEQUENCE"] == previous[kept]["SEQUENCE"]
    samples = _samples(prom)
    expiry = _per_siret(samples[metrics.EXPIRY])
    assert expiry[SIAGEP] == (record.tech_login, int(record.expiry.timestamp()))
    assert expiry[unreadable] == ("TECH_unreadable", old[unreadable].expires_at.timestamp())
    assert set(expiry) == set(old)
    assert samples[metrics.LAST_EXIT_CODE][0].value == 1


def test_a_failed_run_records_its_exit_code_and_keeps_what_was_known(cli, portal, tmp_path):
    ics, prom = tmp_path / "chorus.ics", tmp_path / "chorus_bot.prom"
    soon = datetime.now(PARIS) + timedelta(days=10, hours=1)
    _seed(ics, prom, [Expiry(SIAGEP, "TECH_x", soon)])
    calendar_before = ics.read_bytes()
    # The metrics say 50 days left: what the earlier run computed, now stale.
    prom.write_text(
        prom.read_text(encoding="utf-8").replace(
            f'{metrics.DAYS_LEFT}{{siret="{SIAGEP}",login="TECH_x"}} 10',
            f'{metrics.DAYS_LEFT}{{siret="{SIAGEP}",login="TECH_x"}} 50',
        ),
        encoding="utf-8",
    )

    result = cli(
        "status", "--ics", str(ics), "--prometheus", str(prom), CHORUS_BOT_PASSWORD="wrong-one"
    )

    assert result.returncode == 1, result.output
    assert "login" in result.stderr
    assert ics.read_bytes() == calendar_before
    samples = _samples(prom)
    assert samples[metrics.LAST_EXIT_CODE][0].value == 1
    assert _per_siret(samples[metrics.DAYS_LEFT]) == {SIAGEP: ("TECH_x", 10)}


def test_a_configuration_error_is_recorded_too(cli, portal, tmp_path):
    prom = tmp_path / "chorus_bot.prom"
    cli.config_file.write_text("warn_days = 'thirty'\n", encoding="utf-8")

    result = cli("status", "--prometheus", str(prom))

    assert result.returncode == 2, result.output
    assert _samples(prom)[metrics.LAST_EXIT_CODE][0].value == 2
    assert portal.state.requests == []


@pytest.mark.parametrize("option", ["--ics", "--prometheus"])
def test_a_missing_folder_is_refused_before_the_portal(cli, portal, tmp_path, option):
    result = cli("status", option, str(tmp_path / "no-such-folder" / "file"))

    assert result.returncode == 2, result.output
    assert "no-such-folder does not exist" in result.stderr
    assert portal.state.requests == []


def test_an_unwritable_calendar_fails_the_run_and_says_so(cli, portal, tmp_path):
    prom = tmp_path / "chorus_bot.prom"
    # /proc exists but takes no new file, even from root (who writes anywhere else).
    ics = Path("/proc/chorus-bot-test.ics")

    result = cli("check", "-s", SIAGEP, "--ics", str(ics), "--prometheus", str(prom))

    assert result.returncode == 1, result.output
    assert f"chorus-bot: error: calendar: cannot write the calendar {ics}" in result.stderr
    assert _samples(prom)[metrics.LAST_EXIT_CODE][0].value == 1


# --- the pieces, without the portal -------------------------------------------------------


def _check(siret: str, login: str, expires_at: datetime) -> StructureResult:
    return StructureResult(siret, check=CheckReport(TechnicalStatus(siret, login, expires_at), 30))


def test_a_structure_without_technical_user_gets_no_event_and_no_series():
    when = datetime(2027, 1, 5, 14, 30, tzinfo=PARIS)
    results = [
        _check(SIAGEP, "TECH_a", when),
        StructureResult(PAGE3_SIRET, no_technical_user=True),
        StructureResult(EXPIRED_SIRET, error=PortalError("boom", step="structure")),
    ]
    previous = {
        PAGE3_SIRET: Expiry(PAGE3_SIRET, "TECH_old", when),
        EXPIRED_SIRET: Expiry(EXPIRED_SIRET, "TECH_e", when),
    }
    outcome = outcome_of(results, complete=True)

    text = metrics.render(outcome, previous, 4).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    sirets = {s.labels["siret"] for s in families[metrics.EXPIRY].samples}
    assert sirets == {SIAGEP, EXPIRED_SIRET}
    calendar = icalendar.Calendar.from_ical(calendar_file.render(outcome, {}, warn_days=30))
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [calendar_file.uid_for(SIAGEP)]


def test_metrics_labels_are_escaped_and_read_back():
    login = 'TECH_"odd"\\name'
    when = datetime(2027, 1, 5, 14, 30, tzinfo=PARIS)
    outcome = outcome_of([_check(SIAGEP, login, when)], complete=True)
    text = metrics.render(outcome, {}, 0)
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}
    (sample,) = families[metrics.EXPIRY].samples
    assert sample.labels["login"] == login


def test_previous_metrics_are_read_back(tmp_path):
    login = 'TECH_"odd"\\name'
    when = datetime(2027, 1, 5, 14, 30, tzinfo=PARIS)
    prom = tmp_path / "m.prom"
    prom.write_bytes(
        metrics.render(outcome_of([_check(SIAGEP, login, when)], complete=True), {}, 0)
    )
    assert metrics.previous_expiries(prom) == {SIAGEP: Expiry(SIAGEP, login, when)}


def test_one_reminder_when_the_warning_window_is_a_day():
    when = datetime(2027, 7, 5, 14, 30, tzinfo=PARIS)  # summer time: +02:00
    outcome = outcome_of([_check(SIAGEP, "TECH_a", when)], complete=True)
    calendar = icalendar.Calendar.from_ical(calendar_file.render(outcome, {}, warn_days=1))
    (event,) = calendar.walk("VEVENT")
    assert [alarm.decoded("TRIGGER") for alarm in event.walk("VALARM")] == [timedelta(days=-1)]
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("years", "as_rules"),
    [
        pytest.param(range(2026, 2036), True, id="the-EU-rule-as-RRULEs"),
        # Before 1996 summer time ended in September: the rule does not hold, and the
        # offsets come from the tz database instead.
        pytest.param(range(1993, 1995), False, id="other-offsets-from-the-tz-database"),
    ],
)
def test_another_parser_reads_our_vtimezone_as_the_tz_database_does(years, as_rules):
    """Times around each change of offset, converted by vobject with the file's VTIMEZONE."""
    moments = []
    for year in years:
        for month, day in [
            (1, 10),
            (3, 24),
            (3, 25),
            (3, 26),
            (3, 27),
            (3, 28),
            (3, 29),
            (3, 30),
            (3, 31),
            (7, 1),
            (9, 24),
            (9, 25),
            (9, 26),
            (9, 27),
            (9, 28),
            (9, 29),
            (9, 30),
            (10, 25),
            (10, 26),
            (10, 27),
            (10, 28),
            (10, 29),
            (10, 30),
            (10, 31),
        ]:
            for hour in (1, 4, 12):
                moments.append(datetime(year, month, day, hour, 30, tzinfo=PARIS))
    # One event per moment, in one file (the SIRETs are only keys here).
    by_siret = {f"{index:014d}": moment for index, moment in enumerate(moments)}
    outcome = outcome_of(
        [_check(siret, "TECH_a", moment) for siret, moment in by_siret.items()], complete=True
    )
    text = calendar_file.render(outcome, {}, warn_days=30).decode()
    assert ("RRULE:" in text) == as_rules
    parsed = _vobject(text)
    assert parsed.vtimezone.tzid.value == "Europe/Paris"
    assert len(parsed.vevent_list) == len(moments)
    for event in parsed.vevent_list:
        moment = by_siret[event.summary.value.split()[-2]]
        assert event.dtstart.value.astimezone(UTC) == moment.astimezone(UTC), moment


def test_exit_codes_of_what_ends_a_command():
    import typer

    assert exit_code_of(None) == 0
    assert exit_code_of(typer.Exit(3)) == 3
    assert exit_code_of(PortalError("x")) == 1
    assert exit_code_of(KeyboardInterrupt()) == 130


# --- contrib/ -----------------------------------------------------------------------------


def test_the_alert_rules_use_the_metrics_chorus_bot_writes():
    rules = yaml.safe_load((REPO / "contrib" / "chorus-bot.rules.yml").read_text())
    (group,) = rules["groups"]
    by_name = {rule["alert"]: rule for rule in group["rules"]}
    assert set(by_name) == {
        "ChorusProTechnicalPasswordExpiresSoon",
        "ChorusBotRunFailed",
        "ChorusBotNotRunning",
    }
    assert by_name["ChorusProTechnicalPasswordExpiresSoon"]["expr"].strip() == (
        f"{metrics.DAYS_LEFT} < 30"
    )
    assert metrics.LAST_EXIT_CODE in by_name["ChorusBotRunFailed"]["expr"]
    assert metrics.LAST_RUN in by_name["ChorusBotNotRunning"]["expr"]
    assert "2 * 86400" in by_name["ChorusBotNotRunning"]["expr"]
    for rule in group["rules"]:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


def _plugin(cli, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(REPO / "contrib" / "check_chorus_bot"), *args],
        capture_output=True,
        text=True,
        env={
            **cli.base_env(),
            "CHORUS_BOT": f"{shlex.quote(sys.executable)} -m bot",
            **env,
        },
        cwd=cli.home,
        timeout=180,
    )


def test_nagios_plugin_maps_an_expired_password_to_critical(cli, portal):
    done = _plugin(cli)

    assert done.returncode == 2, done.stdout + done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith("CHORUS-BOT CRITICAL - a Chorus Pro technical password has expired")
    assert "(exit 4)" in first
    least = min(
        TechnicalStatus(r.siret, r.tech_login, r.expiry).days_left()
        for r in portal.state.structures
    )
    assert first.endswith(f" | days_left_min={least}")
    assert any(EXPIRED_SIRET in line for line in rest)


def test_nagios_plugin_maps_a_refused_portal_url_to_critical(cli, portal):
    bad = _plugin(cli, CHORUS_BOT_PORTAL_URL="https://portal.example.com/")
    assert bad.returncode == 2, bad.stdout
    assert "misconfigured" in bad.stdout.splitlines()[0]
    assert any(line.startswith("chorus-bot: error:") for line in bad.stdout.splitlines())
    assert portal.state.requests == []
