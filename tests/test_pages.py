"""Each page object, against the mock portal and against other markup with the same texts.

The second kind matters: the bot runs against portals written independently of our mock,
so a page object that only works on the mock's markup is a defect."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import Page

from flows.models import PARIS
from flows.pages.applications import ApplicationsPage
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.login import LoginPage
from flows.pages.manager_activities import ManagerActivitiesPage
from flows.pages.reset_result import NewPasswordScreen, ResetConfirmation
from flows.pages.second_factor import SecondFactorPage
from flows.pages.structure import StructurePage
from tests.conftest import MANAGER, MANAGER_PASSWORD, PAGE3_SIRET, SIAGEP


def _log_in(page: Page, url: str) -> None:
    login = LoginPage(page)
    login.open(url)
    login.fill_identifiant(MANAGER)
    login.fill_password(MANAGER_PASSWORD)
    login.submit()


def _to_activities(page: Page, url: str) -> ManagerActivitiesPage:
    _log_in(page, url)
    ApplicationsPage(page).click_chorus_pro()
    ChorusHomePage(page).open_manager_activities()
    activities = ManagerActivitiesPage(page)
    activities.wait_until_shown()
    return activities


def test_login_page_shows_the_error_on_wrong_credentials(page: Page, portal):
    login = LoginPage(page)
    login.open(portal.url)
    assert login.is_shown()
    login.fill_identifiant(MANAGER)
    login.fill_password("wrong")
    login.submit()
    assert login.is_shown()
    assert "incorrect" in login.error_text().lower()
    assert not ApplicationsPage(page).is_shown()


def test_login_leads_to_the_application_list_with_chorus_pro(page: Page, portal):
    _log_in(page, portal.url)
    applications = ApplicationsPage(page)
    applications.title.wait()
    assert applications.has_chorus_pro()


def test_application_list_without_chorus_pro(page: Page, portal):
    from fixtures.mock_portal import Fault

    portal.faults.add(Fault("chorus_link_missing", "applications"))
    _log_in(page, portal.url)
    applications = ApplicationsPage(page)
    applications.title.wait()
    assert not applications.has_chorus_pro()


def test_second_factor_page(page: Page, make_portal):
    import pyotp

    portal = make_portal(totp_for={MANAGER})
    _log_in(page, portal.url)
    second = SecondFactorPage(page)
    second.code.wait()
    assert second.is_shown()
    second.enter_code("000000")
    assert "incorrect" in second.error_text().lower()
    second.enter_code(pyotp.TOTP(portal.state.account(MANAGER).totp_secret).now())
    ApplicationsPage(page).title.wait()


def test_manager_activities_reads_rows_and_pages_through(page: Page, portal):
    activities = _to_activities(page, portal.url)
    first = activities.read_rows()
    assert [row.siret for row in first] == [r.siret for r in portal.state.structures[:5]]
    assert first[0].name == "SIAGEP"
    assert first[0].status == "ACTIF"
    assert first[0].created == "13/07/2016"
    assert activities.has_row_for(SIAGEP)
    assert not activities.has_row_for(PAGE3_SIRET)
    pages = 1
    while activities.can_go_next():
        activities.go_next()
        activities.wait_until_row_gone(first[0].siret)
        first = activities.read_rows()
        pages += 1
    assert pages == 3
    assert activities.has_row_for(PAGE3_SIRET)


def test_structure_page_reads_login_expiry_and_finds_the_reset_button(page: Page, portal):
    activities = _to_activities(page, portal.url)
    activities.open_structure(SIAGEP)
    structure = StructurePage(page)
    structure.wait_until_shown()
    status = structure.read_status(SIAGEP)
    record = portal.state.structure(SIAGEP)
    assert status.login == record.tech_login
    assert status.expires_at == record.expiry.replace(microsecond=0)
    assert structure.has_reset_button()


@pytest.mark.parametrize("display", ["text", "field"])
def test_inpage_confirmation_and_new_password_screen(page: Page, make_portal, display):
    portal = make_portal(confirm="inpage", password_display=display)
    activities = _to_activities(page, portal.url)
    activities.open_structure(SIAGEP)
    structure = StructurePage(page)
    structure.wait_until_shown()
    structure.click_reset()
    confirmation = ResetConfirmation(page)
    confirmation.confirm.wait()
    assert confirmation.is_shown()
    confirmation.click_confirm()
    screen = NewPasswordScreen(page)
    screen.shown.wait_for()
    assert screen.read_password() == portal.state.structure(SIAGEP).tech_password


# --- the same texts in other markup ---------------------------------------------------------

OTHER_LOGIN = """
<h1>Bienvenue sur le Portail de la Gestion Publique</h1>
<div><span id=a>IDENTIFIANT&nbsp;:</span><input aria-labelledby=a></div>
<div><label>Mot de passe<input type=password></label></div>
<input type=submit value="Connexion">
<p class=err>Authentification échouée : identifiant inconnu</p>
"""

OTHER_LIST = """
<h2>Mes structures</h2>
<table>
 <tr><td><b>Identifiant structure</b></td><td>Raison sociale</td><td>Date de création</td>
     <td>Type</td><td>Statut</td><td></td></tr>
 <tr><td>259 000 966 00020</td><td>SIAGEP</td><td>13/07/2016</td>
     <td>Service des factures publiques</td><td>ACTIF</td>
     <td><button aria-label="Ouvrir">&#128269;</button></td></tr>
</table>
<nav><button disabled>Suivant</button></nav>
"""

OTHER_STRUCTURE = """
<section><h3>Utilisateurs rattachés à la structure</h3>
<p>Gestionnaire Principal : Jeanne DUPONT
Utilisateur technique :TECH_1_25900096600020@cpro.fr(ACTIF)</p>
<p>Expiration du mot de passe de l’utilisateur technique&nbsp;: 22/12/2017 15:20:45</p>
<a href="#" role="button">Réinitialiser le mot de passe (utilisateur technique)</a></section>
"""

OTHER_RESULT_DL = """
<div role="alertdialog"><dl><dt>Nouveau mot de passe</dt><dd>Zx9#q:Lm!2@pw</dd></dl></div>
"""

OTHER_RESULT_SENTENCE = """
<p>Le nouveau mot de passe de l'utilisateur technique est : <code>aB3$dE6&amp;gH9</code></p>
"""


def test_login_page_on_other_markup(page: Page):
    page.set_content(OTHER_LOGIN)
    login = LoginPage(page)
    assert login.is_shown()
    login.fill_identifiant("someone")
    assert page.get_by_role("textbox").first.input_value() == "someone"
    assert login.connect.present()
    assert "échouée" in login.error_text()


def test_structure_list_on_other_markup(page: Page):
    page.set_content(OTHER_LIST)
    activities = ManagerActivitiesPage(page)
    assert activities.has_row_for(SIAGEP)
    assert not activities.can_go_next()


def test_structure_page_on_other_markup(page: Page):
    page.set_content(OTHER_STRUCTURE)
    structure = StructurePage(page)
    status = structure.read_status(SIAGEP)
    assert status.login == "TECH_1_25900096600020@cpro.fr"
    assert status.expires_at == datetime(2017, 12, 22, 15, 20, 45, tzinfo=PARIS)
    assert structure.has_reset_button()


@pytest.mark.parametrize(
    ("markup", "password"),
    [(OTHER_RESULT_DL, "Zx9#q:Lm!2@pw"), (OTHER_RESULT_SENTENCE, "aB3$dE6&gH9")],
)
def test_new_password_on_other_markup(page: Page, markup, password):
    page.set_content(markup)
    screen = NewPasswordScreen(page)
    assert screen.read_password() == password
