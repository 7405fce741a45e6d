"""Today's portal, page by page, on crafted markup: the second-factor choice page and the
`Raccordements` request form, each in the forms an independently written portal may give them
(radio buttons, PrimeFaces' hidden inputs, buttons per factor; lists answered in place or by a
reload that drops a choice). Real Chromium; the flows' own functions where the order of steps
matters (the mailbox opened before the portal sends, the password read before `Soumettre`).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from bot.errors import (
    ChorusBotError,
    NoTechnicalUser,
    PasswordNotShown,
    PortalError,
    SecondFactorUnsupported,
    StructureNotFound,
)
from flows import raccordements_path
from flows.entry import choose_second_factor, pass_second_factor_if_asked
from flows.models import ManagerLogin
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.raccordements import (
    TechnicalAccountForm,
    parse_structure_option,
    technical_login_of,
)
from flows.pages.reset_result import NewPasswordScreen
from flows.pages.second_factor import SecondFactorChoicePage, SecondFactorPage
from flows.perceive import Option
from flows.session import PortalSession
from flows.texts import Texts

SIAGEP = "25900096600020"
OTHER = "15881399800099"
NO_TECH = "31852476600157"
PASSWORD = "Zq7#kP2!vR9@wL4x"

CSS = "<style>.ui-helper-hidden-accessible{display:none}</style>"


def _session(page: Page, timeout_ms: float = 5000) -> PortalSession:
    return PortalSession(page, timeout_ms=timeout_ms, host_guard=lambda url: None)


# -- the second-factor choice page --------------------------------------------------------

# Continuer says which factor was chosen when it was clicked, then shows the code page,
# whose Valider leads to Chorus Pro's home.
_CONTINUE = """<script>
function home() { document.body.innerHTML = '<a href="#">Raccordements</a>'; }
function codePage(factor) {
  document.title = 'sent ' + factor;
  document.body.innerHTML = '<label for=c>Code de vérification</label><input id=c>'
    + '<button type=button onclick=home()>Valider</button>';
}
</script>
<button type="button" onclick="const c = document.querySelector('input[name=f]:checked');
  codePage(c ? c.value : 'nothing')">Continuer</button>"""

RADIOS = f"""<h1>Vérification en deux étapes</h1><p>Choisissez la méthode de vérification</p>
<form>
  <input type="radio" name="f" id="f1" value="totp">
  <label for="f1">Application d'authentification</label>
  <input type="radio" name="f" id="f2" value="email">
  <label for="f2">Code envoyé par courriel</label>
  <input type="radio" name="f" id="f3" value="key"><label for="f3">Clé de sécurité</label>
  {_CONTINUE}
</form>"""

# PrimeFaces selectOneRadio: the inputs are hidden, a box and the label are what one clicks.
PRIMEFACES_RADIOS = f"""{CSS}<table role="grid"><tr>
  <td><div class="ui-radiobutton"><div class="ui-helper-hidden-accessible">
    <input type="radio" name="f" id="j1" value="totp"></div>
    <div class="ui-radiobutton-box" onclick="document.getElementById('j1').checked=true">
    </div></div></td>
  <td><label for="j1">Application d’authentification (recommandée)</label></td></tr>
  <tr><td><div class="ui-radiobutton"><div class="ui-helper-hidden-accessible">
    <input type="radio" name="f" id="j2" value="email"></div>
    <div class="ui-radiobutton-box"></div></div></td>
  <td><label for="j2">Code envoyé par courriel</label></td></tr></table>{_CONTINUE}"""

BUTTONS = """<p>Choisissez la méthode de vérification</p>
<button type="button" onclick="document.title='sent totp'">Application d'authentification</button>
<button type="button" onclick="document.title='sent email'">Code envoyé par e-mail</button>
<button type="button" onclick="document.title='continue clicked'">Continuer</button>"""


@pytest.mark.parametrize("markup", [RADIOS, PRIMEFACES_RADIOS], ids=["radios", "primefaces"])
@pytest.mark.parametrize("factor", ["totp", "email"])
def test_a_factor_is_chosen_by_its_label_then_continuer(page: Page, markup: str, factor: str):
    page.set_content(markup)
    choice = SecondFactorChoicePage(page)
    assert choice.is_shown() and choice.offers_app() and choice.offers_email()
    assert not choice.asks_security_key_only()
    choice.choose_app() if factor == "totp" else choice.choose_email()
    assert page.title() == f"sent {factor}"
    assert SecondFactorPage(page).is_shown()


def test_a_button_per_factor_goes_on_without_continuer(page: Page):
    page.set_content(BUTTONS)
    choice = SecondFactorChoicePage(page)
    assert choice.offers_email()
    choice.choose_email()
    assert page.title() == "sent email"


@pytest.mark.parametrize(
    "markup",
    [
        "<h1>Vérification en deux étapes</h1><p>Insérez votre clé de sécurité</p>",
        '<input type="radio" name="f" id="k"><label for="k">Clé de sécurité</label>'
        "<button>Continuer</button>",
    ],
    ids=["key-page", "key-only-option"],
)
def test_a_security_key_alone_is_recognised(page: Page, markup: str):
    page.set_content(markup)
    choice = SecondFactorChoicePage(page)
    assert choice.asks_security_key_only()
    assert not (choice.offers_app() or choice.offers_email())


def test_the_code_page_is_not_a_choice(page: Page):
    page.set_content(
        "<p>Un code à 6 chiffres a été envoyé à c***@collectivite.example.fr</p>"
        "<label for=c>Code de vérification</label><input id=c><button>Valider</button>"
    )
    assert SecondFactorPage(page).is_shown()
    assert not SecondFactorChoicePage(page).is_shown()


class Calls:
    """What the flow asked of the manager's code sources, and what the page showed then."""

    def __init__(self, page: Page, *, totp: bool) -> None:
        self.page = page
        self.totp = totp
        self.events: list[str] = []

    def manager(self) -> ManagerLogin:
        def one_time_code() -> str:
            self.events.append(f"totp code ({self.page.title()})")
            return "111111"

        def expect_email_code():
            self.events.append(f"mailbox opened ({self.page.title() or 'nothing sent'})")

            def wait_for_code() -> str:
                self.events.append(f"mail read ({self.page.title()})")
                return "222222"

            return wait_for_code

        return ManagerLogin(
            identifiant="claire.martin",
            password="not-used-here",
            one_time_code=one_time_code,
            has_totp_secret=lambda: self.totp,
            expect_email_code=expect_email_code,
        )


def test_without_a_totp_secret_the_mailbox_is_opened_before_the_portal_sends(page: Page):
    page.set_content(RADIOS)
    calls = Calls(page, totp=False)
    pass_second_factor_if_asked(_session(page), calls.manager())
    assert calls.events == ["mailbox opened (nothing sent)", "mail read (sent email)"]
    assert ChorusHomePage(page).is_shown()


def test_with_a_totp_secret_the_authenticator_is_chosen(page: Page):
    page.set_content(RADIOS)
    calls = Calls(page, totp=True)
    session = _session(page)
    choice = SecondFactorChoicePage(page)
    assert choice_source(session, choice, calls) is None  # the usual one-time code
    assert page.title() == "sent totp"
    assert calls.events == []


def choice_source(session: PortalSession, choice: SecondFactorChoicePage, calls: Calls):
    return choose_second_factor(session, choice, calls.manager())


def test_only_a_security_key_stops_with_the_factor_to_add(page: Page):
    page.set_content("<p>Insérez votre clé de sécurité</p>")
    calls = Calls(page, totp=True)
    with pytest.raises(SecondFactorUnsupported) as caught:
        choice_source(_session(page), SecondFactorChoicePage(page), calls)
    line = caught.value.one_line()
    assert line.startswith("second factor: the portal offers only a security key")
    assert "cannot be automated" in line and "TOTP, recommended" in line
    assert "credentials set --totp" in line
    assert caught.value.exit_code == 1
    assert calls.events == []


def test_the_home_of_chorus_pro_without_the_documented_path(page: Page):
    page.set_content(
        "<nav><a href='#a'>Accueil connecté</a><a href='#r'>Raccordements</a>"
        "<a href='#f'>Factures reçues</a></nav>"
    )
    home = ChorusHomePage(page)
    assert home.is_shown()
    assert not home.has_manager_activities()


# -- the Raccordements request form ---------------------------------------------------------


def _form_html(*, jsf: bool = False, expiry: bool = False, reload_drops: bool = False) -> str:
    """The form answered in place by a script; `jsf`: PrimeFaces lists (native list hidden,
    label in the cell before); `reload_drops`: the first structure chosen is lost by a reload,
    as a POST-back on its way may do."""

    def select(name: str, label: str, options: str) -> str:
        if jsf:
            return (
                f"<tr id='r-{name}'><td><label for='{name}_focus'>{label}&nbsp;:</label></td>"
                "<td><div class='ui-selectonemenu'><div class='ui-helper-hidden-accessible'>"
                f"<input id='{name}_focus' readonly></div>"
                "<div class='ui-helper-hidden-accessible'>"
                f"<select id='{name}' onchange='step()'>{options}</select></div>"
                "<label class='ui-selectonemenu-label'>&nbsp;</label></div></td></tr>"
            )
        return (
            f"<tr id='r-{name}'><td><label for='{name}'>{label}</label></td>"
            f"<td><select id='{name}' onchange='step()'>{options}</select></td></tr>"
        )

    choose = "<option value=''>-- Choisir --</option>"
    rows = (
        select(
            "type",
            "Type de demande",
            choose + "<option value='c'>Création d'un compte technique</option>"
            "<option value='r'>Réinitialisation du mot de passe d’un compte technique</option>",
        )
        + select(
            "structure",
            "Choisir la structure",
            choose + f"<option value='1'>{SIAGEP} - SIAGEP</option>"
            f"<option value='2'>{OTHER} - COMMUNE D'EXEMPLE</option>"
            f"<option value='3'>{NO_TECH} - SANS COMPTE</option>",
        )
        + select("account", "Compte technique", choose)
    )
    expiry_line = (
        "<p>Expiration du mot de passe de l'utilisateur technique : 22/12/2027 15:20:45</p>"
        if expiry
        else ""
    )
    return f"""{CSS}<h1>Compte technique</h1><form><table>{rows}</table>
    <p id="none" hidden>Cette structure n'a pas de compte technique.</p>
    <div id="red" hidden style="border:2px solid red"><p>Notez bien le nouveau mot de passe</p>
      <p>Nouveau mot de passe : <b>{PASSWORD}</b></p>{expiry_line}</div>
    <button type="button" id="submit" hidden onclick="document.title='submitted';
      document.body.innerHTML='<p>Votre demande a été prise en compte.</p>'">Soumettre</button>
    </form>
    <script>
    const logins = {{"1": "TECH_1_{SIAGEP}@cpro.fr", "2": "TECH_1_{OTHER}@cpro.fr"}};
    let reloads = {1 if reload_drops else 0};
    window.picks = [];
    function show(id, on) {{ document.getElementById(id).hidden = !on; }}
    function step() {{
      const type = document.getElementById('type').value;
      const structure = document.getElementById('structure');
      const account = document.getElementById('account');
      window.picks.push([type, structure.value, account.value].join('/'));
      if (structure.value && reloads > 0) {{
        reloads -= 1;  // the page comes back without the structure chosen
        setTimeout(() => {{ structure.value = ''; step(); }}, 150);
        return;
      }}
      show('r-structure', type === 'r');
      show('none', !!structure.value && !logins[structure.value]);
      const login = logins[structure.value];
      if (login && account.options.length === 1) {{
        account.add(new Option(login + ' (ACTIF)', login));
      }}
      if (!login) {{ while (account.options.length > 1) account.remove(1); }}
      show('r-account', !!login);
      show('red', !!login && account.value === login);
      show('submit', !!login && account.value === login);
    }}
    step();
    </script>"""


def test_structure_and_account_entries_are_read_as_a_person_reads_them():
    assert parse_structure_option(f"{SIAGEP} - SIAGEP") == parse_structure_option(
        "259 000 966 00020 – SIAGEP"
    )
    row = parse_structure_option(f"{OTHER} - COMMUNE D'EXEMPLE")
    assert row is not None and (row.siret, row.name) == (OTHER, "COMMUNE D'EXEMPLE")
    assert parse_structure_option("-- Choisir --") is None
    option = Option(f"TECH_1_{SIAGEP}@cpro.fr (ACTIF)", "x")
    assert technical_login_of(option) == f"TECH_1_{SIAGEP}@cpro.fr"
    assert Option("-- Choisir --", "").is_placeholder
    assert Option("Sélectionnez une structure", "0").is_placeholder


@pytest.mark.parametrize("jsf", [False, True], ids=["labels", "primefaces"])
def test_the_form_is_filled_up_to_the_password_and_nothing_submitted(page: Page, jsf: bool):
    page.set_content(_form_html(jsf=jsf))
    session = _session(page)
    form = TechnicalAccountForm(page)
    form.wait_until_shown()

    raccordements_path.fill_form(session, form, None, until="structures")
    assert [row.siret for row in form.structures()] == [SIAGEP, OTHER, NO_TECH]

    logins = raccordements_path.fill_form(session, form, OTHER)
    assert logins == [f"TECH_1_{OTHER}@cpro.fr"]
    assert not form.is_revealed()  # a read stops before any password is on screen

    raccordements_path.fill_form(session, form, OTHER, logins[0], until="revealed")
    assert form.read_password() == PASSWORD
    assert form.expiry() is None
    assert page.title() != "submitted"


def test_a_choice_dropped_by_a_reload_is_made_again(page: Page):
    page.set_content(_form_html(reload_drops=True))
    session = _session(page)
    form = TechnicalAccountForm(page)
    logins = raccordements_path.fill_form(session, form, SIAGEP)
    assert logins == [f"TECH_1_{SIAGEP}@cpro.fr"]
    picks = page.evaluate("window.picks")
    assert picks.count("r/1/") == 2, picks  # chosen, lost, chosen again


def test_the_expiry_when_the_form_shows_it(page: Page):
    page.set_content(_form_html(expiry=True))
    session = _session(page)
    form = TechnicalAccountForm(page)
    login = raccordements_path.fill_form(session, form, SIAGEP)[0]
    raccordements_path.fill_form(session, form, SIAGEP, login, until="revealed")
    assert f"{form.expiry():%d/%m/%Y %H:%M:%S}" == "22/12/2027 15:20:45"


def test_a_structure_without_technical_account(page: Page):
    page.set_content(_form_html())
    form = TechnicalAccountForm(page)
    with pytest.raises(NoTechnicalUser) as caught:
        raccordements_path.fill_form(_session(page), form, NO_TECH)
    assert "Cette structure n'a pas de compte technique" in caught.value.one_line()


def test_a_structure_not_offered(page: Page):
    page.set_content(_form_html())
    with pytest.raises(StructureNotFound) as caught:
        raccordements_path.fill_form(_session(page), TechnicalAccountForm(page), "93319084500067")
    assert "(3 structure(s) offered)" in caught.value.one_line()


def test_a_renamed_request_type_is_found_through_texts(page: Page):
    html = _form_html().replace(
        "Réinitialisation du mot de passe d’un compte technique", "Nouveau secret technique"
    )
    page.set_content(html)
    with pytest.raises(PortalError, match="offers no `Réinitialisation du mot de passe"):
        raccordements_path.fill_form(_session(page), TechnicalAccountForm(page), SIAGEP)
    page.set_content(html)
    texts = Texts({"request_type_reset": ("Nouveau secret technique",)})
    form = TechnicalAccountForm(page, texts)
    assert raccordements_path.fill_form(_session(page), form, SIAGEP)


def test_reset_reads_the_password_hands_it_over_then_submits(page: Page):
    page.set_content(_form_html())
    session = _session(page)
    form = TechnicalAccountForm(page)
    login = raccordements_path.fill_form(session, form, SIAGEP)[0]
    raccordements_path.fill_form(session, form, SIAGEP, login, until="revealed")
    from flows.models import TechnicalStatus

    before = TechnicalStatus(SIAGEP, login, None, None)
    new = raccordements_path._read_new_password(session, form, before)
    assert (new.login, new.password) == (login, PASSWORD)
    assert PASSWORD not in repr(new)
    assert page.title() != "submitted"  # read, not yet in force
    raccordements_path.submit(session, form, SIAGEP)
    assert page.title() == "submitted"


def test_a_sentence_after_the_label_is_not_taken_for_the_password(page: Page):
    page.set_content(_form_html().replace(f"<b>{PASSWORD}</b>", "<b>voir ci-dessous</b>"))
    session = _session(page)
    form = TechnicalAccountForm(page)
    login = raccordements_path.fill_form(session, form, SIAGEP)[0]
    raccordements_path.fill_form(session, form, SIAGEP, login, until="revealed")
    from flows.models import TechnicalStatus

    with pytest.raises(PasswordNotShown) as caught:
        raccordements_path._read_new_password(
            session, form, TechnicalStatus(SIAGEP, login, None, None)
        )
    assert "nothing was submitted" in caught.value.one_line()
    assert page.title() != "submitted"


@pytest.mark.parametrize(
    "markup",
    [
        # The warning comes first and mentions the label's words: its next line is not the value.
        f"<p>Notez bien le nouveau mot de passe</p><p>Nouveau mot de passe : {PASSWORD}</p>",
        "<p>Notez bien le nouveau mot de passe</p><table><tr><td>Nouveau mot de passe :</td>"
        f"<td>{PASSWORD}</td></tr></table>",
        f"<p>Votre nouveau mot de passe</p><p>{PASSWORD}</p>",
    ],
)
def test_the_password_after_a_warning_that_repeats_the_label(page: Page, markup: str):
    page.set_content(f"<div style='border:2px solid red'>{markup}</div>")
    assert NewPasswordScreen(page).read_password() == PASSWORD


def test_a_password_the_form_shows_reaches_the_redaction_even_when_the_read_fails(page: Page):
    # The form shows a new password as soon as the account is chosen. If the read breaks
    # after that (here: Chorus Pro's home cannot be reached again), the page a failure saves
    # must be redacted of that password: the run's redactor is given it, and the trace was
    # stopped before it was drawn.
    page.set_content(_form_html())
    shown: list[str] = []
    events: list[str] = []
    session = PortalSession(
        page,
        timeout_ms=3000,
        host_guard=lambda url: None,
        before_secret=lambda: events.append("trace stopped"),
        on_secret=lambda secret: (shown.append(secret), events.append("secret known")),
    )
    form = TechnicalAccountForm(page)
    login = raccordements_path.fill_form(session, form, SIAGEP)[0]
    assert shown == [] and events == []  # no password on screen yet

    with pytest.raises(ChorusBotError):
        raccordements_path._with_expiry(session, "http://127.0.0.1:9/", SIAGEP, form, [login])

    assert shown == [PASSWORD]
    assert events == ["trace stopped", "secret known"]
