"""The perception rules, each against the markup habit that broke the bot before.

Every snippet is what an independently written JSF/PrimeFaces portal may serve with the same
visible texts (docs/perception.md). The page objects are built on these rules, so a rule
that only worked on our mock's markup would show here first.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from flows.pages.login import LoginPage
from flows.pages.manager_activities import ManagerActivitiesPage
from flows.pages.reset_result import NewPasswordScreen, ResetConfirmation
from flows.pages.second_factor import SecondFactorPage
from flows.pages.structure import StructurePage
from flows.perceive import Perception
from flows.texts import Texts

SIAGEP = "25900096600020"
OTHER = "15881399800099"

# The structures grid inside layout tables (no role=presentation) that also hold another
# data table: "the first table containing `Identifiant structure`" is the outer one.
NESTED_LAYOUT = f"""
<table><tr><td>
  <table><tr><td>
    <h3>Demandes de rattachement à valider</h3>
    <div class="ui-datatable"><table role="grid">
      <thead><tr role="row"><th role="columnheader">Demandeur</th>
        <th role="columnheader">Identifiant structure</th></tr></thead>
      <tbody><tr role="row"><td role="gridcell">M. X</td>
        <td role="gridcell">{OTHER}</td></tr></tbody>
    </table></div>
  </td></tr>
  <tr><td>
    <h3>Mes structures</h3>
    <div class="ui-paginator" role="navigation">
      <span class="ui-paginator-first ui-state-default ui-state-disabled">«</span>
      <span class="ui-paginator-page ui-state-active">1</span>
      <span class="ui-paginator-page" tabindex="0" onclick="go(2)">2</span>
      <span class="ui-paginator-next ui-state-default" tabindex="0" title="Page suivante"
        onclick="go(2)">›</span>
      <span class="ui-paginator-current">(7 ligne(s))</span>
    </div>
    <div class="ui-datatable"><table role="grid">
      <thead><tr role="row">
        <th role="columnheader"><span class="ui-column-title">Identifiant structure</span></th>
        <th role="columnheader"><span class="ui-column-title">Raison sociale</span></th>
        <th role="columnheader"><span class="ui-column-title">Date de création</span></th>
        <th role="columnheader"><span class="ui-column-title">Type</span></th>
        <th role="columnheader"><span class="ui-column-title">Statut</span></th>
        <th role="columnheader"></th></tr></thead>
      <tbody>
        <tr role="row"><td role="gridcell">{SIAGEP}</td><td role="gridcell">SIAGEP</td>
          <td role="gridcell">13/07/2016</td><td role="gridcell">Service des factures</td>
          <td role="gridcell">ACTIF</td>
          <td role="gridcell"><form method="post"><input type="hidden"
            name="javax.faces.ViewState" value="-123:456">
            <button class="ui-button ui-button-icon-only" title="Consulter la structure"
              type="button" onclick="document.title='opened {SIAGEP}'">
              <span class="ui-button-icon-left ui-icon fa fa-pencil"></span>
              <span class="ui-button-text ui-c"
                style="text-indent:-9999999px;display:block">ui-button</span></button>
          </form></td></tr>
      </tbody></table></div>
  </td></tr></table>
</td></tr></table>
<script>function go(p) {{ document.title = 'page ' + p; }}</script>
"""


def test_structures_table_is_the_innermost_grid_holding_the_header(page: Page):
    page.set_content(NESTED_LAYOUT)
    activities = ManagerActivitiesPage(page)
    rows = activities.read_rows()
    assert [(r.siret, r.name, r.created, r.status) for r in rows] == [
        (SIAGEP, "SIAGEP", "13/07/2016", "ACTIF")
    ]
    # The other data table's SIRET is not one of my structures.
    assert not activities.has_row_for(OTHER)
    assert activities.announced_count() == 7


def test_icon_only_primefaces_button_is_found_by_its_title(page: Page):
    page.set_content(NESTED_LAYOUT)
    ManagerActivitiesPage(page).open_structure(SIAGEP)
    assert page.title() == f"opened {SIAGEP}"


def _row(cells: str) -> str:
    return f"""<h3>Mes structures</h3><table role="grid">
    <tr><th>Identifiant structure</th><th>Raison sociale</th><th></th></tr>
    <tr><td>{cells}</td></tr></table>"""


_OPEN = f"""<button type="button" title="Consulter la structure"
  onclick="document.title='opened {SIAGEP}'">✎</button>"""
_DELETE = (
    """<button type="button" title="Supprimer" onclick="document.title='deleted'">✗</button>"""
)


@pytest.mark.parametrize(
    "markup, one_look",
    [
        (NESTED_LAYOUT, True),
        (_row(f"259 000 966 00020</td><td>SIAGEP</td><td>{_OPEN}"), True),  # digits grouped
        (_row(f"{SIAGEP}</td><td>SIAGEP</td><td>{_DELETE}{_OPEN}"), False),  # two controls
        (
            _row(f"{SIAGEP}</td><td>SIAGEP</td><td>{_OPEN.replace('Consulter la', 'Fiche de la')}"),
            False,
        ),
        (  # rows kept in a sibling table of the header's
            f"""<div><table role="grid"><thead><tr><th>Identifiant structure</th></tr></thead>
            </table><table role="grid"><tr><td>{SIAGEP}</td><td>{_OPEN}</td></tr></table></div>""",
            False,
        ),
    ],
    ids=["nested-layout", "grouped-digits", "two-controls", "named-otherwise", "sibling-table"],
)
def test_one_look_finds_the_row_control_only_when_it_can_tell(
    page: Page, markup: str, one_look: bool
):
    """The one-look shortcut of `check` answers only for a row with one control named for
    the structure; otherwise it leaves the choice to the tiers, which still open it."""
    page.set_content(markup)
    activities = ManagerActivitiesPage(page)
    control = activities.shown_structure_control(SIAGEP)
    assert (control is not None) is one_look
    activities.open_structure(SIAGEP, control)
    assert page.title() == f"opened {SIAGEP}"


def test_one_look_does_not_take_a_row_of_another_table(page: Page):
    page.set_content(NESTED_LAYOUT)
    assert ManagerActivitiesPage(page).shown_structure_control(OTHER) is None


def test_role_less_pager_span_is_a_control(page: Page):
    page.set_content(NESTED_LAYOUT)
    activities = ManagerActivitiesPage(page)
    assert activities.can_go_next()
    activities.go_next()
    assert page.title() == "page 2"


@pytest.mark.parametrize(
    "next_control",
    [
        '<span class="ui-paginator-next ui-state-default ui-state-disabled">›</span>',
        '<a class="ui-paginator-next" aria-label="Next Page" aria-disabled="true">N</a>',
        '<button type="button" disabled>Suivant</button>',
        '<a title="Page suivante">›</a>',  # an <a> that leads nowhere
    ],
)
def test_greyed_out_pager_controls_are_not_followed(page: Page, next_control: str):
    page.set_content(
        f"""<table role="grid"><tr><th>Identifiant structure</th></tr>
        <tr><td>{SIAGEP}</td></tr></table><div>{next_control}</div>"""
    )
    activities = ManagerActivitiesPage(page)
    assert activities.read_rows()
    assert not activities.can_go_next()


@pytest.mark.parametrize(
    "next_control",
    [
        '<span tabindex="0" aria-label="Page suivante" onclick="document.title=2">›</span>',
        '<span tabindex="0" onclick="document.title=2">›</span>',
        '<a href="#" aria-label="Next Page" onclick="document.title=2"><span>N</span></a>',
        '<button type="button" class="ui-paginator-next" onclick="document.title=2">'
        '<span class="ui-icon">›</span></button>',
        '<a href="#" onclick="document.title=2"><img src="data:," alt="Page suivante"></a>',
    ],
)
def test_pager_controls_whatever_their_markup(page: Page, next_control: str):
    page.set_content(
        f"""<table role="grid"><tr><th>Identifiant structure</th></tr>
        <tr><td>{SIAGEP}</td></tr></table><div>{next_control}</div>"""
    )
    activities = ManagerActivitiesPage(page)
    assert activities.can_go_next()
    activities.go_next()
    assert page.title() == "2"


def test_scrollable_primefaces_table_keeps_rows_in_a_sibling_table(page: Page):
    page.set_content(
        f"""<div class="ui-datatable ui-datatable-scrollable">
        <div class="ui-datatable-scrollable-header"><table role="grid"><thead><tr>
          <th>Identifiant structure</th><th>Raison sociale</th></tr></thead></table></div>
        <div class="ui-datatable-scrollable-body"><table role="grid"><tbody>
          <tr><td>{SIAGEP}</td><td>SIAGEP</td></tr></tbody></table></div></div>"""
    )
    activities = ManagerActivitiesPage(page)
    assert [(r.siret, r.name) for r in activities.read_rows()] == [(SIAGEP, "SIAGEP")]
    assert activities.has_row_for(SIAGEP)


@pytest.mark.parametrize(
    "announce",
    ["(12 ligne(s))", "12 résultat(s)", "1 - 5 sur 12", "Affichage de 1 à 5 sur 12"],
)
def test_announced_count_in_its_usual_forms(page: Page, announce: str):
    page.set_content(
        f"""<div><span>{announce}</span><table><tr><th>Identifiant structure</th></tr>
        <tr><td>{SIAGEP}</td></tr></table></div>"""
    )
    assert ManagerActivitiesPage(page).announced_count() == 12


def test_a_page_size_chooser_is_not_a_count(page: Page):
    page.set_content(
        f"""<div><select><option>5</option><option>10</option><option>50</option></select>
        lignes par page <span>Afficher 5 lignes par page</span>
        <table><tr><th>Identifiant structure</th></tr><tr><td>{SIAGEP}</td></tr></table></div>"""
    )
    assert ManagerActivitiesPage(page).announced_count() is None


@pytest.mark.parametrize(
    "markup",
    [
        # PrimeFaces 2017 paginator: the words come after the list, in no label.
        '<select class="ui-paginator-rpp-options">{options}</select> lignes par page',
        '<label for="t">Lignes par page :</label><select id="t">{options}</select>',
        '<select aria-label="Lignes par page">{options}</select>',
    ],
    ids=["words-after", "label-for", "aria-label"],
)
def test_the_largest_page_size_offered_however_labelled(page: Page, markup: str):
    options = '<option value="5" selected>5</option><option value="50">50</option>'
    options += '<option value="20">20</option>'
    page.set_content(
        f"""<div>{markup.format(options=options)}
        <table><tr><th>Identifiant structure</th></tr><tr><td>{SIAGEP}</td></tr></table></div>"""
    )
    largest = ManagerActivitiesPage(page).largest_page_size()
    assert largest is not None and largest.value == "50"


def test_a_list_labelled_otherwise_is_not_the_page_size(page: Page):
    page.set_content(
        """<label for="t">Type de structure</label><select id="t"><option>5</option>
        <option>50</option></select> lignes par page"""
    )
    assert ManagerActivitiesPage(page).largest_page_size() is None


def test_the_largest_page_size_already_shown_is_not_chosen_again(page: Page):
    page.set_content(
        """<select><option>5</option><option selected>50</option></select> lignes par page"""
    )
    assert ManagerActivitiesPage(page).largest_page_size() is None


def test_no_announced_count_is_none_not_the_count_of_another_table(page: Page):
    page.set_content(
        f"""<div><div><table><tr><th>Utilisateur</th></tr><tr><td>x</td></tr></table>
        <span>(2 ligne(s))</span></div>
        <table><tr><th>Identifiant structure</th></tr><tr><td>{SIAGEP}</td></tr></table></div>"""
    )
    assert ManagerActivitiesPage(page).announced_count() is None


JSF_LOGIN = """
<form method="post"><table>
<tr><td>Identifiant&#8239;:</td><td><input type="text" name="j_idt12:ident"></td></tr>
<tr><td>Mot&nbsp;de&nbsp;passe&nbsp;:</td><td><input type="password" name="j_idt12:pwd"></td></tr>
<tr><td></td><td><input type="submit" value="Connexion"></td></tr>
</table><input type="hidden" name="javax.faces.ViewState" value="1:2"></form>
"""


def test_fields_labelled_by_the_cell_before_them(page: Page):
    page.set_content(JSF_LOGIN)
    login = LoginPage(page)
    assert login.is_shown()
    login.fill_identifiant("claire.martin")
    login.fill_password("not-a-real-one")
    assert page.locator("input[type=text]").input_value() == "claire.martin"
    assert page.locator("input[type=password]").input_value() == "not-a-real-one"
    assert login.connect.present()


@pytest.mark.parametrize(
    "markup",
    [
        '<label for="c">Code de vérification</label><input id="c">',
        "<label>Code de vérification <input></label>",
        '<span id="l">Code de vérification</span><input aria-labelledby="l">',
        '<input aria-label="Code de vérification">',
        '<input placeholder="Code de vérification">',
        "<table><tr><td>Code de vérification :</td><td><input></td></tr></table>",
    ],
)
def test_a_field_by_its_label_however_attached(page: Page, markup: str):
    page.set_content(f"<form>{markup}<button type='button'>Valider</button></form>")
    second_factor = SecondFactorPage(page)
    assert second_factor.is_shown()
    second_factor.code.fill("123456")
    assert page.locator("input").input_value() == "123456"


@pytest.mark.parametrize(
    "markup, login",
    [
        ('<label for="p">Mot de passe</label><input id="p" type="text">', True),
        ("<label>Mot\u00a0de passe : <input type=text></label>", True),
        ('<span id="l">Mot de passe</span><input aria-labelledby="l">', True),
        ('<input aria-label="Mot de passe">', True),
        ('<input placeholder="Mot de passe">', True),
        ("<table><tr><td>Mot de passe :</td><td><input></td></tr></table>", True),
        ('<input type="password" name="secret">', True),
        (
            "<div id=h></div><script>h.attachShadow({mode: 'open'}).innerHTML ="
            " '<label>Mot de passe <input></label>'</script>",
            True,
        ),
        # The structure page says the words in sentences, and shows no field for them.
        (
            "<p>Expiration du mot de passe de l'utilisateur technique : 01/01/2027</p>"
            "<button>Réinitialiser le mot de passe (utilisateur technique)</button>",
            False,
        ),
    ],
    ids=[
        "label-for",
        "wrapping-label",
        "labelledby",
        "aria-label",
        "placeholder",
        "cell-before",
        "password-input",
        "shadow-root",
        "structure-page",
    ],
)
def test_the_quick_look_for_a_login_page_never_misses_one(page: Page, markup: str, login: bool):
    """settle() asks for the login page after every navigation through a quick script first:
    it must answer yes wherever the full look finds the password field."""
    page.set_content(markup)
    full_look = Perception(page).field("login_password", secret=True).present()
    assert full_look is login
    assert Perception(page).field_may_show("login_password", secret=True) is login
    assert LoginPage(page).is_shown() is login


def test_structure_lines_in_layout_cells_with_typographic_apostrophes(page: Page):
    page.set_content(
        """<table><tr><td>Utilisateurs rattachés à la structure</td></tr>
        <tr><td><table>
          <tr><td>Gestionnaire Principal&nbsp;:</td><td>Jeanne DUPONT</td></tr>
          <tr><td>Utilisateur technique&#8239;:</td>
            <td>TECH_1_25900096600020@cpro.fr (ACTIF)</td></tr>
          <tr><td>Expiration du mot de passe de l’utilisateur
            technique&nbsp;:</td><td>22/12/2027 15:20:45</td></tr>
        </table></td></tr></table>
        <button class="ui-button"><span class="ui-icon"></span><span class="ui-button-text">
          Réinitialiser le mot de passe (utilisateur technique)</span></button>"""
    )
    structure = StructurePage(page)
    structure.wait_until_shown()
    status = structure.read_status(SIAGEP)
    assert status is not None
    assert status.login == "TECH_1_25900096600020@cpro.fr"
    assert f"{status.expires_at:%d/%m/%Y %H:%M:%S}" == "22/12/2027 15:20:45"
    assert structure.has_reset_button()


def test_structure_without_technical_user_is_known_at_once(page: Page):
    page.set_content(
        """<h2>Utilisateurs rattachés à la structure</h2>
        <p>Gestionnaire Principal : Jeanne DUPONT</p>
        <table><tr><th>Nom</th></tr><tr><td>DUPONT</td></tr></table>"""
    )
    structure = StructurePage(page)
    structure.wait_until_shown()
    assert structure.read_status(SIAGEP) is None
    assert not structure.has_technical_user()


def test_primefaces_confirm_dialog_before_its_script_adds_a_role(page: Page):
    page.set_content(
        """<div class="ui-dialog ui-confirm-dialog" style="display:none" id="hidden">
          <span class="ui-dialog-title">Confirmation</span>
          <button type="button">Oui</button></div>
        <div class="ui-dialog ui-confirm-dialog">
          <span class="ui-dialog-title">Confirmation</span>
          <span class="ui-confirm-dialog-message">Confirmez-vous ?</span>
          <div class="ui-dialog-buttonpane">
            <button type="button" onclick="document.title='confirmed'">
              <span class="ui-button-text">Oui</span></button>
            <button type="button">Non</button></div></div>
        <button type="button">OK</button>"""
    )
    confirmation = ResetConfirmation(page)
    assert confirmation.is_shown()
    confirmation.click_confirm()
    assert page.title() == "confirmed"


@pytest.mark.parametrize(
    "markup",
    [
        "<table><tr><td>Nouveau mot de passe&nbsp;:</td><td>aB3$dE6&amp;gH9</td></tr></table>",
        "<p>Notez-le.</p><span>Nouveau mot de passe :</span> <span>aB3$dE6&amp;gH9</span>",
        '<label>Nouveau mot de passe <input readonly value="aB3$dE6&amp;gH9"></label>',
    ],
)
def test_new_password_in_jsf_layouts(page: Page, markup: str):
    page.set_content(markup)
    assert NewPasswordScreen(page).read_password() == "aB3$dE6&gH9"


def test_when_several_controls_match_the_exact_name_is_clicked(page: Page):
    """An action goes to the union's one match in one round trip; two matches (here an exact
    name, and a longer one holding the words, first in the page) go back to the tiers."""
    page.set_content(
        """<a href="#" onclick="document.title='loose'">Connexion impossible ?</a>
        <button type="button" onclick="document.title='exact'">Connexion</button>"""
    )
    login = LoginPage(page)
    assert login.connect.union.count() == 2
    login.submit()
    assert page.title() == "exact"


def test_texts_override_comes_before_the_documented_text(page: Page):
    page.set_content(
        """<button type="button" onclick="document.title='new'">Régénérer le secret API</button>
        <button type="button" onclick="document.title='old'">Autre chose</button>"""
    )
    assert not StructurePage(page).has_reset_button()
    texts = Texts({"reset_button": ("Régénérer le secret API",)})
    structure = StructurePage(page, texts)
    assert structure.has_reset_button()
    structure.click_reset()
    assert page.title() == "new"


def test_candidates_name_tables_controls_and_fields_but_no_value(page: Page):
    page.set_content(
        NESTED_LAYOUT + '<label>Mot de passe <input type="password" value="Secret-123!"></label>'
    )
    text = Perception(page).candidates()
    assert "Identifiant structure" in text
    assert "Consulter la structure" in text  # the icon-only button's title
    assert "Page suivante" in text
    assert "Mot de passe" in text
    assert "Secret-123!" not in text


def _demandes(siret: str) -> str:
    return f"""<h3>Demandes de rattachement à valider</h3><table role="grid">
      <tr><th>Demandeur</th><th>Identifiant structure</th><th>Raison sociale</th></tr>
      <tr><td>M. X</td><td>{siret}</td><td>SIAGEP</td></tr></table>"""


def test_a_table_under_another_title_is_not_mes_structures(page: Page):
    # The section says the list cannot be shown: the other table must not stand in for it.
    page.set_content(
        _demandes(SIAGEP) + "<h3>Mes structures</h3><p role='alert'>La liste est indisponible.</p>"
    )
    activities = ManagerActivitiesPage(page)
    assert not activities.is_shown()
    assert activities.read_rows() == []


def test_mes_structures_is_the_table_under_its_title_even_after_a_menu_link(page: Page):
    page.set_content(
        '<nav><a href="#">Mes structures</a></nav>'
        + _demandes(OTHER)
        + f"""<h3>Mes structures</h3><table><tr><th>Identifiant structure</th></tr>
        <tr><td>{SIAGEP}</td></tr></table>"""
    )
    activities = ManagerActivitiesPage(page)
    assert [row.siret for row in activities.read_rows()] == [SIAGEP]
