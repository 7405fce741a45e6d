"""Windows, tested from anywhere: the browser search and the folders over Windows-style
environments, and the Task Scheduler definition in contrib/windows/."""

from __future__ import annotations

import ntpath
import xml.etree.ElementTree as ET
from pathlib import Path, PureWindowsPath

import platformdirs.windows
import pytest
import typer

from bot.browser import find_browser, windows_browser_candidates
from bot.cli import app
from bot.config import config_file, state_dir
from bot.errors import BrowserError

REPO = Path(__file__).resolve().parent.parent
TASK_XML = REPO / "contrib" / "windows" / "chorus-bot-task.xml"
NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}

ENV = {
    "ProgramFiles": r"C:\Program Files",
    "ProgramFiles(x86)": r"C:\Program Files (x86)",
    "LocalAppData": r"C:\Users\adm\AppData\Local",
}
EDGE = r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe"
CHROME = r"C:\Program Files\Google\Chrome\Application\chrome.exe"
USER_CHROME = r"C:\Users\adm\AppData\Local\Google\Chrome\Application\chrome.exe"
D_CHROME = r"D:\Apps\Google\Chrome\Application\chrome.exe"


def no_path(name: str) -> None:
    return None


@pytest.mark.parametrize(
    ("environ", "present", "expected"),
    [
        pytest.param(ENV, {EDGE}, EDGE, id="only-edge"),
        pytest.param(ENV, {EDGE, CHROME}, CHROME, id="chrome-before-edge"),
        pytest.param(ENV, {EDGE, USER_CHROME}, USER_CHROME, id="per-user-chrome"),
        # Variable names in any case; Program Files on another drive.
        pytest.param({"PROGRAMFILES": r"D:\Apps"}, {D_CHROME}, D_CHROME, id="other-drive"),
        # No variables at all: the usual C:\ places still count.
        pytest.param({}, {EDGE}, EDGE, id="default-places"),
    ],
)
def test_windows_browser_search(environ, present, expected):
    found = find_browser(
        None, None, windows=True, environ=environ, is_file=present.__contains__, which=no_path
    )
    assert found == expected


def test_windows_search_prefers_playwright_then_path_and_says_what_to_install():
    own = r"C:\Users\adm\AppData\Local\ms-playwright\chromium-1200\chrome-win\chrome.exe"
    present = {own, EDGE}
    kwargs = {"windows": True, "environ": ENV, "is_file": present.__contains__}
    assert find_browser(None, own, which=no_path, **kwargs) is None
    on_path = r"C:\Tools\chrome.exe"
    assert find_browser(None, None, which={"chrome": on_path}.get, **kwargs) == on_path
    with pytest.raises(BrowserError) as caught:
        find_browser(None, None, windows=True, environ=ENV, is_file=lambda p: False, which=no_path)
    assert "playwright install chromium" in caught.value.one_line()


def test_windows_candidates_are_windows_paths_without_duplicates():
    candidates = windows_browser_candidates({**ENV, "PROGRAMFILES": ENV["ProgramFiles"]})
    assert all(ntpath.isabs(path) and "/" not in path for path in candidates)
    assert len({path.lower() for path in candidates}) == len(candidates)
    assert ntpath.basename(candidates[-1]) == "msedge.exe"


def test_config_and_state_live_under_local_app_data(monkeypatch):
    monkeypatch.delenv("CHORUS_BOT_CONFIG", raising=False)
    monkeypatch.delenv("CHORUS_BOT_STATE_DIR", raising=False)
    monkeypatch.setenv("LOCALAPPDATA", ENV["LocalAppData"])
    monkeypatch.setenv("APPDATA", r"C:\Users\adm\AppData\Roaming")
    # platformdirs asks Windows itself (ctypes); here its environment fallback stands in.
    monkeypatch.setattr(
        platformdirs.windows, "get_win_folder", platformdirs.windows.get_win_folder_from_env_vars
    )
    dirs = platformdirs.windows.Windows("chorus-bot", appauthor=False)

    # Read as Windows reads them (this machine's Path joins with "/").
    folder = PureWindowsPath(r"C:\Users\adm\AppData\Local\chorus-bot")
    assert PureWindowsPath(str(config_file(dirs))) == folder / "config.toml"
    assert PureWindowsPath(str(state_dir(dirs))) == folder
    monkeypatch.setenv("CHORUS_BOT_STATE_DIR", r"D:\chorus")
    assert PureWindowsPath(str(state_dir(dirs))) == PureWindowsPath(r"D:\chorus")


def test_task_scheduler_xml_runs_reset_all_monthly_as_the_user():
    root = ET.parse(TASK_XML).getroot()

    trigger = root.find("t:Triggers/t:CalendarTrigger", NS)
    assert trigger is not None
    monthly = trigger.find("t:ScheduleByMonth", NS)
    assert monthly is not None
    assert [day.text for day in monthly.findall("t:DaysOfMonth/t:Day", NS)] == ["1"]
    assert len(monthly.find("t:Months", NS)) == 12
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "Password"
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS)
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS)
    assert ntpath.basename(command) == "chorus-bot.exe"
    assert arguments == "reset --all"
    # The arguments are ones the real command line accepts.
    click_app = typer.main.get_command(app)
    name, *rest = arguments.split()
    context = click_app.commands[name].make_context(name, rest)
    assert context.params["all_structures"] is True


def test_powershell_line_registers_that_xml():
    script = (REPO / "contrib" / "windows" / "register-task.ps1").read_text(encoding="utf-8")
    command = [line for line in script.splitlines() if not line.startswith("#")]
    assert len(command) == 1
    assert "Register-ScheduledTask" in command[0] and "chorus-bot-task.xml" in command[0]
