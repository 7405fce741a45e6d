"""Masks proven by pixels (issue 11, item 2): the bot's failure screenshot, taken while the new
password is on screen, is read with Tesseract OCR. The password must not be legible there,
while the label next to it is; and the same screen without the bot's redaction, rendered by
the same browser, shows that OCR does read such a password, so the test can fail."""

from __future__ import annotations

import io
import shutil
from difflib import SequenceMatcher

import pytesseract
import pytest
from PIL import Image  # comes with pytesseract

from fixtures.mock_portal import pages
from fixtures.mock_portal.state import PendingResult
from tests.conftest import PAGE3_SIRET, Cli
from tests.runs import run_folder

NEIGHBOUR = "Utilisateur technique"  # the line just above the new password


@pytest.fixture(scope="module", autouse=True)
def tesseract() -> None:
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is missing: run `make test` or scripts/ensure-ocr-deps.sh")


def read(png: bytes) -> str:
    """OCR at twice the size: Tesseract reads 13 px text poorly, and both images get the same."""
    image = Image.open(io.BytesIO(png)).convert("L")
    image = image.resize((image.width * 2, image.height * 2), Image.LANCZOS)
    return pytesseract.image_to_string(image)


def legibility(secret: str, text: str) -> float:
    """How well the best stretch of `text` matches `secret` (1.0: read exactly)."""
    flat = "".join(text.split())
    size = len(secret)
    windows = [flat[i : i + size] for i in range(max(1, len(flat) - size + 1))]
    return max(SequenceMatcher(None, secret, window).ratio() for window in windows)


@pytest.mark.parametrize("display", ["text", "field"])
def test_the_failure_screenshot_does_not_show_the_new_password(
    make_portal, tmp_path, real_keyring, page, display
):
    portal = make_portal(password_display=display)
    cli = Cli(home=tmp_path, portal_url=portal.url)

    # The keyring fails once the password is on screen: the run stops there, with a screenshot.
    result = cli(
        "reset",
        "--structure",
        PAGE3_SIRET,
        PYTHON_KEYRING_BACKEND="tests.keyring_backends.RefusesTechnicalWrites",
    )

    assert result.returncode == 5, result.output
    record = portal.state.structure(PAGE3_SIRET)
    password = record.tech_password
    screenshot = (run_folder(result) / "screenshot.png").read_bytes()

    # The control: the screen the bot had, as the portal drew it, in the same browser.
    account = portal.state.account(record.owner)
    shown = PendingResult(record.id, record.tech_login, password)
    page.set_content(pages.result_page(account, record, shown, portal.render))
    control = read(page.screenshot(full_page=True))
    assert NEIGHBOUR in control, control
    assert legibility(password, control) >= 0.75, (password, control)

    seen = read(screenshot)
    assert NEIGHBOUR in seen, seen  # OCR does read the bot's screenshot
    assert legibility(password, seen) < 0.5, (password, seen)
