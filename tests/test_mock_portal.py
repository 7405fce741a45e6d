"""Tests of the mock portal itself, over real HTTP.

If the mock drifts from docs/portal.md, every bot test built on it becomes meaningless, so the
visible texts, the state changes and each fault are checked here.
"""

from __future__ import annotations

import base64
import html
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Locator, Page
from stdnum.fr import siret as siret_mod

from fixtures.mock_portal import Fault, MockPortal, PortalOptions
from fixtures.mock_portal.state import PARIS, PASSWORD_SPECIALS, generate_password

REPO = Path(__file__).resolve().parents[1]
CLAIRE = ("claire.martin", "Portail-Demo-2026!")
PAUL = ("paul.durand", "Autre-Compte-2026!")
SIAGEP = "25900096600020"
LOGIN_PAGE = "/portail/accueilIAM.pl"
RESET_BUTTON = "Réinitialiser le mot de passe (utilisateur technique)"
CONFIRM_QUESTION = "Confirmez-vous la réinitialisation du mot de passe de l'utilisateur technique ?"


# ----- helpers ------------------------------------------------------------------------


class _Text(HTMLParser):
    """Visible text, roughly as a person reads it (no script/style, nbsp -> space)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return re.sub(r"\s+", " ", " ".join(parser.parts).replace("\xa0", " ")).strip()


def dialogs(markup: str) -> list[str]:
    """Inner HTML of every role="dialog" element (our dialogs hold no nested <div role>)."""
    return re.findall(r'<div[^>]*role="dialog"[^>]*>(.*?)</div>\s*</div>', markup, re.S)


@contextmanager
def running(**options: object) -> Iterator[MockPortal]:
    with MockPortal(PortalOptions(**options)) as portal:  # type: ignore[arg-type]
        yield portal


@pytest.fixture
def portal() -> Iterator[MockPortal]:
    with running() as p:
        yield p


def client(portal: MockPortal, follow: bool = True) -> httpx.Client:
    return httpx.Client(base_url=portal.url, follow_redirects=follow, timeout=10)


def login(c: httpx.Client, creds: tuple[str, str] = CLAIRE) -> httpx.Response:
    return c.post(LOGIN_PAGE, data={"identifiant": creds[0], "secret": creds[1]})


def logged_in(portal: MockPortal, creds: tuple[str, str] = CLAIRE) -> httpx.Client:
    c = client(portal)
    r = login(c, creds)
    assert r.status_code == 200 and "Liste des applications" in r.text
    return c


def structure_url(portal: MockPortal, siret: str) -> str:
    return f"/cpp/structure/{portal.state.structure(siret).id}"


def csrf(markup: str) -> str:
    m = re.search(r'name="jeton" value="([^"]+)"', markup)
    assert m, "reset form token missing"
    return m.group(1)


def post_reset(c: httpx.Client, portal: MockPortal, siret: str = SIAGEP) -> httpx.Response:
    """Open the structure page and submit its reset form, without following the redirect."""
    page = c.get(structure_url(portal, siret))
    return c.post(
        structure_url(portal, siret) + "/reinitialiser",
        data={"jeton": csrf(page.text)},
        follow_redirects=False,
    )


def assert_expiry_moved(expiry: datetime, before: datetime) -> None:
    expected = before + timedelta(days=424)
    assert expiry.tzinfo is not None
    assert abs((expiry - expected).total_seconds()) < 5
    assert expiry.microsecond == 0


def assert_expiry_moved_between(expiry: datetime | None, before: datetime) -> None:
    """424 days after a reset that happened between `before` and now (however slow)."""
    after = datetime.now(PARIS)
    assert expiry is not None and expiry.tzinfo is not None and expiry.microsecond == 0
    days = timedelta(days=424)
    assert before.replace(microsecond=0) + days <= expiry <= after + days


# ----- seed data ----------------------------------------------------------------------


def test_seed_structures_match_the_brief(portal: MockPortal) -> None:
    recs = portal.state.structures
    assert len(recs) == 14
    assert all(siret_mod.is_valid(r.siret) for r in portal.state.all_structures)
    # 14 for claire, 3 for paul (two of them without a technical user)
    assert len({r.siret for r in portal.state.all_structures}) == 17
    assert recs[0].siret == SIAGEP and recs[0].tech_login == "TECH_025900096600020@cpp2017"
    now = datetime.now(PARIS)
    days = [(r.expiry - now).total_seconds() / 86400 for r in recs]
    page3 = recs[10:14]
    assert any(
        19 <= (r.expiry - now).days <= 20 and r.tech_login == f"TECH_1_{r.siret}@cpro.fr"
        for r in page3
    )
    assert any(d < 0 for d in days), "one structure must already be expired"
    assert any(re.fullmatch(r"TECH_\d+@cpp2017\.fr", r.tech_login) for r in recs)
    assert sum(30 <= d <= 61 for d in days) >= 2
    for r in recs:
        assert len(r.users) == 2 and r.users[0].role == "GESTIONNAIRE_PRINCIPAL"
        assert r.reset_count == 0 and r.status == "ACTIF"
    # Passwords are generated per start, not stored in the seed.
    with running() as other:
        assert other.state.structure(SIAGEP).tech_password != recs[0].tech_password
    assert recs[0].tech_password not in (REPO / "fixtures/mock_portal/seed.json").read_text()


def test_accounts(portal: MockPortal) -> None:
    claire = portal.state.account("claire.martin")
    assert claire.display_name == "Mme Claire MARTIN"
    assert claire.password == CLAIRE[1]
    assert claire.totp_secret and pyotp.TOTP(claire.totp_secret).now()
    assert len(claire.sirets) == 14
    assert len(portal.state.account("paul.durand").sirets) == 3


def test_password_generator_policy() -> None:
    for _ in range(300):
        pw = generate_password()
        assert len(pw) == 20
        assert re.search(r"[A-Z]", pw) and re.search(r"[a-z]", pw) and re.search(r"\d", pw)
        assert sum(ch in PASSWORD_SPECIALS for ch in pw) >= 2
        assert not re.search(r"\s", pw)
        assert set(pw) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + PASSWORD_SPECIALS
        )


# ----- login --------------------------------------------------------------------------


def test_root_redirects_to_login_page(portal: MockPortal) -> None:
    assert portal.url.startswith("http://127.0.0.1:") and portal.url.endswith("/")
    r = client(portal, follow=False).get("/")
    assert r.status_code in (302, 303) and r.headers["location"].endswith(LOGIN_PAGE)
    page = client(portal).get("/")
    assert '<html lang="fr">' in page.text
    text = text_of(page.text)
    for expected in (
        "DIRECTION GENERALE DES FINANCES PUBLIQUES",
        "Bienvenue sur le Portail de la Gestion Publique",
        "ALERTE ESCROQUERIE :",
        "Saisir la partie gauche (avant l'@) de l'adresse mél ou l'identifiant \"-xt\" "
        "pour les utilisateurs externes",
        "Identifiant :",
        "Mot de passe :",
    ):
        assert expected in text
    # Labels must be associated with their inputs (the bot uses get_by_label).
    for label, kind in (("Identifiant :", "text"), ("Mot de passe :", "password")):
        m = re.search(rf'<label for="([^"]+)">{re.escape(label)}</label>', page.text)
        assert m, label
        assert re.search(rf'<input type="{kind}" id="{m.group(1)}"', page.text)
    assert 'value="Connexion"' in page.text


def test_wrong_credentials_stay_on_login_page(portal: MockPortal) -> None:
    c = client(portal, follow=False)
    for creds in (("claire.martin", "mauvais"), ("inconnu", CLAIRE[1]), (CLAIRE[0], "")):
        r = login(c, creds)
        assert r.status_code == 200
        assert "set-cookie" not in r.headers
        assert re.search(r'role="alert">Identifiant ou mot de passe incorrect\.<', r.text)
        assert "Bienvenue sur le Portail de la Gestion Publique" in r.text
    assert portal.state.successful_logins == 0


def test_right_credentials_open_a_session(portal: MockPortal) -> None:
    c = client(portal, follow=False)
    r = login(c)
    assert r.status_code == 303 and r.headers["location"].endswith("/portail/applications.pl")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/" in cookie
    assert len(cookie.split("=", 1)[1].split(";")[0]) >= 32
    apps = c.get(r.headers["location"])
    assert apps.status_code == 200
    text = text_of(apps.text)
    assert "Liste des applications disponibles pour Mme Claire MARTIN" in text
    for link in (
        "Accès DFT-MET",
        "Chorus Pro",
        "Comptes de gestion dématérialisés SPL",
        "Helios SL2M (090090)",
        "Passerelle de transmission",
        "PESOS",
    ):
        assert re.search(rf"<a [^>]*href=[^>]*>{re.escape(link)}</a>", apps.text), link
    assert portal.state.successful_logins == 1
    assert ("POST", LOGIN_PAGE) in portal.state.requests


def test_other_applications_are_trivial_pages(portal: MockPortal) -> None:
    c = logged_in(portal)
    href = re.search(r'<a href="([^"]+)">PESOS</a>', c.get("/portail/applications.pl").text)
    assert href
    r = c.get(html.unescape(href.group(1)))
    assert r.status_code == 200 and "PESOS" in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/portail/applications.pl",
        "/cpp/accueil",
        "/cpp/gestionnaire",
        "/cpp/structure/27041",
        "/cpp/structure/27041/resultat/abc",
    ],
)
def test_authenticated_pages_require_the_session(portal: MockPortal, path: str) -> None:
    r = client(portal, follow=False).get(path)
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN_PAGE)
    r = client(portal, follow=False).post("/cpp/structure/27041/reinitialiser", data={"jeton": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN_PAGE)
    assert portal.state.structure(SIAGEP).reset_count == 0


def test_session_expiry_redirects_to_login() -> None:
    with running(session_ttl=60) as portal:
        c = logged_in(portal)
        assert c.get("/cpp/gestionnaire").status_code == 200
        # Age the session instead of sleeping: a loaded machine made a 0.3 s TTL flaky.
        with portal.state.lock:
            for sess in portal.state._sessions.values():
                sess.last_seen -= 61
        r = c.get("/cpp/gestionnaire", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith(LOGIN_PAGE)
    with running() as portal:
        c = logged_in(portal)
        portal.state.expire_all_sessions()
        r = c.get("/cpp/accueil", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith(LOGIN_PAGE)


def test_sessions_are_per_account(portal: MockPortal) -> None:
    paul = logged_in(portal, PAUL)
    page = paul.get("/cpp/gestionnaire?taille=50")
    assert "(3 ligne(s))" in text_of(page.text)
    assert "60161055300088" in page.text and SIAGEP not in page.text
    assert paul.get(structure_url(portal, SIAGEP)).status_code == 404
    claire = logged_in(portal)
    assert "Liste des applications disponibles pour Mme Claire MARTIN" in text_of(
        claire.get("/portail/applications.pl").text
    )
    assert "M. Paul DURAND" in paul.get("/portail/applications.pl").text


# ----- Chorus Pro pages ---------------------------------------------------------------


def test_chorus_home(portal: MockPortal) -> None:
    text = text_of(logged_in(portal).get("/cpp/accueil").text)
    assert "Accueil connecté" in text
    assert re.search(
        r"Dernière connexion le \d{1,2} \w+ \d{4} \d\d:\d\d:\d\d à CLAIRE MARTIN", text
    )
    for item in (
        "Activités du gestionnaire",
        "Factures reçues",
        "Factures émises",
        "Sollicitations reçues",
        "Sollicitations émises",
        "Mon Compte",
        "Fil d'événements",
        "Actualités",
    ):
        assert item in text


def rows_of(markup: str) -> list[str]:
    section = markup.split("Mes structures", 1)[1]
    return re.findall(r"<td>(\d{14})</td>", section)


def test_structures_are_paged_five_by_five(portal: MockPortal) -> None:
    c = logged_in(portal)
    sirets = [r.siret for r in portal.state.structures]
    pages = [c.get(f"/cpp/gestionnaire?page={n}") for n in (1, 2, 3)]
    assert [rows_of(p.text) for p in pages] == [sirets[0:5], sirets[5:10], sirets[10:14]]
    first = pages[0].text
    text = text_of(first)
    assert "Page 1 / 3 (14 ligne(s))" in text and "Page 3 / 3 (14 ligne(s))" in text_of(
        pages[2].text
    )
    assert text.index("Activités du gestionnaire") < text.index("Mes structures")
    for col in ("Identifiant structure", "Raison sociale", "Date de création", "Type", "Statut"):
        assert f'<th scope="col">{col}</th>' in first
    assert re.search(r"<td>25900096600020</td><td>SIAGEP</td><td>13/07/2016</td>", first)
    assert "Service des factures publiques" in first and "ACTIF" in first
    assert first.count('aria-label="Consulter la structure"') == 5
    assert "Créer une nouvelle structure" in text
    # The page-size chooser is a labelled select with the usual sizes.
    m = re.search(r'<select id="([^"]+)" name="taille"[^>]*>(.*?)</select>', first, re.S)
    assert m and f'<label for="{m.group(1)}">lignes par page</label>' in first
    assert re.findall(r'<option value="(\d+)"', m.group(2)) == ["5", "10", "20", "50"]
    # Pager: Page suivante is a working link except on the last page.
    next_link = re.compile(r'<a href="[^"]+"[^>]*aria-label="Page suivante"')
    assert next_link.search(first) and next_link.search(pages[1].text)
    assert not next_link.search(pages[2].text)
    assert 'aria-label="Page suivante"' in pages[2].text  # present but disabled
    for label in ("Page précédente", "Dernière page"):
        assert f'aria-label="{label}"' in first
    assert 'title="Première page"' in first


def test_page_size_can_be_changed(portal: MockPortal) -> None:
    c = logged_in(portal)
    r = c.get("/cpp/gestionnaire?taille=20")
    assert len(rows_of(r.text)) == 14 and "Page 1 / 1 (14 ligne(s))" in text_of(r.text)
    assert len(rows_of(c.get("/cpp/gestionnaire?taille=10&page=2").text)) == 4
    with running(page_size=10) as p10:
        assert len(rows_of(logged_in(p10).get("/cpp/gestionnaire").text)) == 10


def test_structure_page_texts(portal: MockPortal) -> None:
    c = logged_in(portal)
    rec = portal.state.structure(SIAGEP)
    url = structure_url(portal, SIAGEP)
    assert SIAGEP not in url
    page = c.get(url).text
    text = text_of(page)
    assert re.search(r"<h1>[^<]*SIAGEP[^<]*25900096600020[^<]*</h1>", page)
    expiry = rec.expiry.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")
    for expected in (
        "Utilisateurs rattachés à la structure",
        "Gestionnaire Principal : Claire MARTIN",
        "Utilisateur technique : TECH_025900096600020@cpp2017 (ACTIF)",
        f"Expiration du mot de passe de l'utilisateur technique : {expiry}",
        "(2 ligne(s))",
        "GESTIONNAIRE_PRINCIPAL",
        "Rattacher un utilisateur",
        "Supprimer les utilisateurs sélectionnés",
        RESET_BUTTON,
    ):
        assert expected in text, expected
    assert text.index("Informations générales") < text.index("Utilisateurs rattachés")
    for col in (
        "Nom",
        "Prénom",
        "Adresse de contact",
        "Rôle",
        "Statut",
        "Date de réactivation",
        "Date dernière connexion",
    ):
        assert f'<th scope="col">{col}</th>' in page
    assert rec.tech_password not in page
    assert (
        f"onclick=\"return confirm('{CONFIRM_QUESTION.replace(chr(39), chr(92) + chr(39))}')"
        in (page)
    )


def test_structure_row_button_leads_to_its_structure(portal: MockPortal) -> None:
    c = logged_in(portal)
    page = c.get("/cpp/gestionnaire?page=3").text
    row = re.search(r"<tr>\s*<td>93319084500067</td>.*?</tr>", page, re.S)
    assert row and 'title="Consulter la structure"' in row.group(0)
    action = re.search(r'action="([^"]+)"', row.group(0))
    assert action
    assert "Transports Fauvel et Fils" in c.get(action.group(1)).text


# ----- the reset ----------------------------------------------------------------------


def test_reset_changes_state_only_on_post_and_shows_password_once(portal: MockPortal) -> None:
    c = logged_in(portal)
    rec = portal.state.structure(SIAGEP)
    old_pw, old_exp = rec.tech_password, rec.expiry
    for _ in range(3):
        c.get(structure_url(portal, SIAGEP))
    assert (rec.tech_password, rec.expiry, rec.reset_count) == (old_pw, old_exp, 0)
    bad = c.post(structure_url(portal, SIAGEP) + "/reinitialiser", data={"jeton": "faux"})
    assert bad.status_code == 403 and rec.reset_count == 0

    before = datetime.now(PARIS)
    r = post_reset(c, portal)
    assert r.status_code == 303
    assert rec.reset_count == 1 and rec.tech_password != old_pw
    assert_expiry_moved(rec.expiry, before)
    result = c.get(r.headers["location"], follow_redirects=False)
    assert result.status_code == 200
    text = text_of(result.text)
    assert "Réinitialisation du mot de passe" in text
    assert "Utilisateur technique : TECH_025900096600020@cpp2017" in text
    assert f"Nouveau mot de passe : {rec.tech_password}" in text
    assert f'<strong class="mdp">{html.escape(rec.tech_password)}</strong>' in result.text
    assert "Ce mot de passe ne sera plus affiché. Copiez-le maintenant." in text
    assert "Exporter les informations de connexion" in text
    assert "Retour à la structure" in text
    # Shown once: reloading redirects to the structure page without the password.
    again = c.get(r.headers["location"], follow_redirects=False)
    assert again.status_code == 303
    follow = c.get(r.headers["location"])
    assert rec.tech_password not in follow.text and html.escape(rec.tech_password) not in (
        follow.text
    )
    assert rec.expiry.strftime("%d/%m/%Y %H:%M:%S") in text_of(follow.text)
    assert rec.reset_count == 1


def test_two_resets_give_two_passwords(portal: MockPortal) -> None:
    c = logged_in(portal)
    seen = set()
    for _ in range(2):
        r = post_reset(c, portal)
        seen.add(portal.state.structure(SIAGEP).tech_password)
        assert portal.state.structure(SIAGEP).tech_password in text_of(
            c.get(r.headers["location"]).text
        )
    assert len(seen) == 2 and portal.state.structure(SIAGEP).reset_count == 2


def test_browser_confirm_is_default(portal: MockPortal) -> None:
    page = logged_in(portal).get(structure_url(portal, SIAGEP)).text
    assert "return confirm(" in page and 'role="dialog"' not in page


@pytest.mark.parametrize("label", ["Confirmer", "Valider", "Oui"])
def test_inpage_confirm_dialog(label: str) -> None:
    with running(confirm="inpage", confirm_label=label) as portal:
        page = logged_in(portal).get(structure_url(portal, SIAGEP)).text
        assert "confirm(" not in page
        found = dialogs(page)
        assert len(found) == 1
        dlg = found[0]
        assert CONFIRM_QUESTION in html.unescape(dlg)
        assert re.search(rf"<button[^>]*>{label}</button>", dlg)
        assert re.search(r"<button[^>]*>Annuler</button>", dlg)
        m = re.search(r'<div[^>]*role="dialog"[^>]*>', page)
        assert m and 'aria-modal="true"' in m.group(0) and "aria-labelledby=" in m.group(0)
        # The confirm button submits the reset form (so it works without scripts).
        assert re.search(rf'<button type="submit" form="([^"]+)"[^>]*>{label}</button>', dlg)


def test_no_confirmation_variant() -> None:
    with running(confirm="none") as portal:
        page = logged_in(portal).get(structure_url(portal, SIAGEP)).text
        assert "confirm(" not in page and 'role="dialog"' not in page
        assert re.search(rf'<button type="submit">.*?{re.escape(RESET_BUTTON)}</button>', page)


@pytest.mark.parametrize("tab", ["same", "new"])
def test_chorus_tab_variants(tab: str) -> None:
    with running(chorus_tab=tab) as portal:
        page = logged_in(portal).get("/portail/applications.pl").text
        link = re.search(r"<a [^>]*>Chorus Pro</a>", page)
        assert link
        assert ('target="_blank"' in link.group(0)) == (tab == "new")


def test_password_display_field() -> None:
    with running(password_display="field") as portal:
        c = logged_in(portal)
        r = post_reset(c, portal)
        page = c.get(r.headers["location"]).text
        pw = portal.state.structure(SIAGEP).tech_password
        label = re.search(r'<label for="([^"]+)">Nouveau mot de passe</label>', page)
        assert label
        field = re.search(rf'<input [^>]*id="{label.group(1)}"[^>]*>', page)
        assert field and "readonly" in field.group(0)
        value = re.search(r'value="([^"]*)"', field.group(0))
        assert value and html.unescape(value.group(1)) == pw


def test_result_in_dialog() -> None:
    with running(result_view="dialog", confirm="inpage") as portal:
        c = logged_in(portal)
        r = post_reset(c, portal)
        assert r.headers["location"].startswith(structure_url(portal, SIAGEP) + "?")
        page = c.get(r.headers["location"]).text
        pw = portal.state.structure(SIAGEP).tech_password
        result = [d for d in dialogs(page) if "Réinitialisation du mot de passe" in d]
        assert len(result) == 1
        dlg_text = text_of(result[0])
        assert f"Nouveau mot de passe : {pw}" in dlg_text
        assert "Utilisateur technique : TECH_025900096600020@cpp2017" in dlg_text
        assert "Fermer" in dlg_text and "Exporter les informations de connexion" in dlg_text
        assert "Utilisateurs rattachés à la structure" in text_of(page)  # page behind
        reload = c.get(r.headers["location"])
        assert pw not in text_of(reload.text)
        assert not [d for d in dialogs(reload.text) if "Nouveau mot de passe" in d]


# ----- faults -------------------------------------------------------------------------


def prepare(step: str, portal: MockPortal) -> tuple[httpx.Client, Callable[[], httpx.Response]]:
    """Log in as needed for `step`; return the client and a call that hits the step once."""
    c = client(portal, follow=False)
    if step == "login":
        return c, lambda: login(c)
    assert login(c).headers["location"].endswith("/portail/codeVerification.pl")
    secret = portal.state.account("claire.martin").totp_secret or ""

    def second_factor() -> httpx.Response:
        code = pyotp.TOTP(secret).now()
        return c.post("/portail/codeVerification.pl", data={"code": code})

    if step == "second_factor":
        return c, second_factor
    assert second_factor().status_code == 303
    s_url = structure_url(portal, SIAGEP)
    if step == "applications":
        return c, lambda: c.get("/portail/applications.pl")
    if step == "chorus_home":
        return c, lambda: c.get("/cpp/accueil")
    if step == "gestionnaire":
        return c, lambda: c.get("/cpp/gestionnaire")
    if step == "structure":
        return c, lambda: c.get(s_url)
    token = csrf(c.get(s_url).text)
    if step == "reset":
        return c, lambda: c.post(s_url + "/reinitialiser", data={"jeton": token})
    if step == "result":
        location = c.post(s_url + "/reinitialiser", data={"jeton": token}).headers["location"]
        return c, lambda: c.get(location)
    raise AssertionError(step)


WEB_STEPS = [
    "login",
    "second_factor",
    "applications",
    "chorus_home",
    "gestionnaire",
    "structure",
    "reset",
    "result",
]


def test_totp_for_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        MockPortal(PortalOptions(totp_for={"paul.durand"}))
    with pytest.raises(KeyError):
        MockPortal(PortalOptions(totp_for={"personne"}))


@pytest.fixture
def env() -> Iterator[MockPortal]:
    """Claire needs a TOTP code here, so every step of the web path can be faulted."""
    with running(totp_for={"claire.martin"}) as portal:
        yield portal


@pytest.mark.parametrize("step", WEB_STEPS)
def test_fault_http500(env: MockPortal, step: str) -> None:
    _c, hit = prepare(step, env)
    rec = env.state.structure(SIAGEP)
    snapshot = (rec.tech_password, rec.expiry, rec.reset_count)
    env.faults.add(Fault(kind="http500", step=step))
    for _ in range(2):  # applies every time, not once
        r = hit()
        assert r.status_code == 500, step
        assert "Erreur technique" in r.text
    if step == "reset":
        assert (rec.tech_password, rec.expiry, rec.reset_count) == snapshot
    env.faults.clear()
    assert hit().status_code in (200, 303)


@pytest.mark.parametrize("step", WEB_STEPS)
def test_fault_slow(env: MockPortal, step: str) -> None:
    _c, hit = prepare(step, env)
    env.faults.add(Fault(kind="slow", step=step, seconds=0.4))
    start = time.monotonic()
    r = hit()
    assert time.monotonic() - start >= 0.4
    assert r.status_code in (200, 303)


@pytest.mark.parametrize(
    "step", ["applications", "chorus_home", "gestionnaire", "structure", "reset", "result"]
)
def test_fault_session_expired(env: MockPortal, step: str) -> None:
    c, hit = prepare(step, env)
    rec = env.state.structure(SIAGEP)
    count = rec.reset_count
    env.faults.add(Fault(kind="session_expired", step=step, times=1))
    r = hit()
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN_PAGE)
    if step == "reset":
        assert rec.reset_count == count
    # The session is really gone, not only this answer.
    after = c.get("/cpp/accueil")
    assert after.status_code == 303 and after.headers["location"].startswith(LOGIN_PAGE)
    assert not env.faults.active()  # times=1 used up


def test_fault_session_expired_on_login_and_second_factor(env: MockPortal) -> None:
    _c, hit = prepare("login", env)
    env.faults.add(Fault(kind="session_expired", step="login", times=1))
    r = hit()
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN_PAGE)
    assert env.state.successful_logins == 0
    assert hit().headers["location"].endswith("/portail/codeVerification.pl")
    _c, hit = prepare("second_factor", env)
    env.faults.add(Fault(kind="session_expired", step="second_factor"))
    assert hit().headers["location"].startswith(LOGIN_PAGE)


def test_fault_times_counts_hits(env: MockPortal) -> None:
    _c, hit = prepare("gestionnaire", env)
    env.faults.add(Fault(kind="http500", step="gestionnaire", times=2))
    assert [hit().status_code for _ in range(3)] == [500, 500, 200]


def test_fault_reset_button_missing(env: MockPortal) -> None:
    _c, hit = prepare("structure", env)
    env.faults.add(Fault(kind="reset_button_missing", step="structure"))
    page = hit().text
    assert RESET_BUTTON not in page and "Rattacher un utilisateur" in page
    env.faults.clear()
    assert RESET_BUTTON in hit().text


def test_fault_result_without_password(env: MockPortal) -> None:
    _c, hit = prepare("result", env)
    rec = env.state.structure(SIAGEP)
    assert rec.reset_count == 1  # the reset happened before the result is shown
    env.faults.add(Fault(kind="result_without_password", step="result"))
    r = hit()
    assert r.status_code == 200
    assert "Réinitialisation du mot de passe" in r.text
    assert rec.tech_password not in text_of(r.text)
    assert "Nouveau mot de passe" not in r.text
    assert hit().status_code == 303  # and it is gone for good


def test_fault_result_http500_keeps_result_for_a_retry(env: MockPortal) -> None:
    _c, hit = prepare("result", env)
    env.faults.add(Fault(kind="http500", step="result", times=1))
    assert hit().status_code == 500
    retry = hit()
    assert env.state.structure(SIAGEP).tech_password in text_of(retry.text)


def test_fault_chorus_link_missing(env: MockPortal) -> None:
    _c, hit = prepare("applications", env)
    env.faults.add(Fault(kind="chorus_link_missing", step="applications"))
    text = text_of(hit().text)
    assert "Chorus Pro" not in text and "PESOS" in text


def test_fault_expiry_not_moved(env: MockPortal) -> None:
    _c, hit = prepare("reset", env)
    rec = env.state.structure(SIAGEP)
    old_pw, old_exp = rec.tech_password, rec.expiry
    env.faults.add(Fault(kind="expiry_not_moved", step="reset"))
    assert hit().status_code == 303
    assert rec.tech_password != old_pw and rec.expiry == old_exp and rec.reset_count == 1


def test_fault_validation_and_parse() -> None:
    assert Fault.parse("slow:structure:2.5") == Fault("slow", "structure", 2.5)
    assert Fault.parse("http500:reset") == Fault("http500", "reset")
    for bad in ("nope:reset", "http500:nowhere", "http500", "a:b:c:d"):
        with pytest.raises(ValueError):
            Fault.parse(bad)


# ----- second factor ------------------------------------------------------------------


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now + d) for d in (-60, -30, 0, 30, 60)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def test_totp_second_factor() -> None:
    with running(totp_for={"claire.martin"}) as portal:
        secret = portal.state.account("claire.martin").totp_secret
        assert secret
        c = client(portal, follow=False)
        r = login(c)
        assert r.status_code == 303 and r.headers["location"].endswith("codeVerification.pl")
        assert portal.state.successful_logins == 1
        # Password alone is not enough to reach the applications.
        blocked = c.get("/portail/applications.pl")
        assert blocked.status_code == 303 and "codeVerification" in blocked.headers["location"]
        page = c.get(r.headers["location"])
        assert "Code de vérification" in text_of(page.text)
        assert re.search(r'<label for="([^"]+)">Code de vérification</label>', page.text)
        assert re.search(r"<button[^>]*>Valider</button>", page.text)
        bad = c.post(r.headers["location"], data={"code": wrong_code(secret)})
        assert bad.status_code == 200
        assert re.search(r'role="alert">Code de vérification incorrect\.<', bad.text)
        assert c.get("/cpp/accueil").status_code == 303
        good = c.post(r.headers["location"], data={"code": pyotp.TOTP(secret).now()})
        assert good.status_code == 303 and good.headers["location"].endswith("applications.pl")
        assert c.get("/cpp/accueil").status_code == 200
        # paul has no second factor in this configuration
        assert "applications.pl" in login(client(portal, follow=False), PAUL).headers["location"]


# ----- PISTE --------------------------------------------------------------------------


def piste_token(portal: MockPortal) -> str:
    r = httpx.post(
        portal.piste_oauth_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "openid"
    return str(body["access_token"])


def rattachements(
    portal: MockPortal, token: str | None, login_: str | None, password: str = ""
) -> httpx.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if login_ is not None:
        headers["cpro-account"] = base64.b64encode(f"{login_}:{password}".encode()).decode()
    return httpx.post(
        portal.piste_api_url + "/cpro/utilisateurs/v1/monCompte/recuperer/rattachements",
        json={"parametresRecherche": {"nbResultatsParPage": 1, "pageResultatDemandee": 1}},
        headers=headers,
    )


def test_piste_urls(portal: MockPortal) -> None:
    assert portal.piste_oauth_url == portal.url + "api/oauth/token"
    assert portal.piste_api_url == portal.url.rstrip("/")


def test_piste_token_client_check(portal: MockPortal) -> None:
    piste_token(portal)
    basic = httpx.post(
        portal.piste_oauth_url,
        data={"grant_type": "client_credentials"},
        auth=("demo-client", "demo-secret"),
    )
    assert basic.status_code == 200 and basic.json()["access_token"]
    for data in (
        {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "x"},
        {"grant_type": "client_credentials", "client_id": "autre", "client_secret": "demo-secret"},
    ):
        bad = httpx.post(portal.piste_oauth_url, data=data)
        assert bad.status_code == 401 and bad.json() == {"error": "invalid_client"}
    wrong_basic = httpx.post(
        portal.piste_oauth_url, data={"grant_type": "client_credentials"}, auth=("demo-client", "")
    )
    assert wrong_basic.status_code == 401


def test_piste_rattachements(portal: MockPortal) -> None:
    rec = portal.state.structure(SIAGEP)
    token = piste_token(portal)
    ok = rattachements(portal, token, rec.tech_login, rec.tech_password)
    assert ok.status_code == 200
    body = ok.json()
    assert body["codeRetour"] == 0 and body["libelle"] == "TRA_MSG_00.000"
    assert body["listeRattachements"] == [
        {"idStructure": rec.id, "identifiantStructure": SIAGEP, "designationStructure": "SIAGEP"}
    ]
    for login_, password in ((rec.tech_login, "mauvais"), ("TECH_inconnu@cpro.fr", "x")):
        bad = rattachements(portal, token, login_, password)
        assert bad.status_code == 200  # business error, as Chorus Pro does
        assert bad.json()["codeRetour"] == 20001
        assert "L'utilisateur ou le mot de passe est incorrect." in bad.json()["libelle"]
    assert rattachements(portal, token, None).status_code == 400
    assert rattachements(
        portal, "jeton-inconnu", rec.tech_login, rec.tech_password
    ).status_code == (401)
    assert rattachements(portal, None, rec.tech_login, rec.tech_password).status_code == 401


def test_piste_follows_the_reset(portal: MockPortal) -> None:
    rec = portal.state.structure(SIAGEP)
    old = rec.tech_password
    c = logged_in(portal)
    post_reset(c, portal)
    token = piste_token(portal)
    assert rattachements(portal, token, rec.tech_login, old).json()["codeRetour"] == 20001
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).json()["codeRetour"] == 0


def test_piste_faults(portal: MockPortal) -> None:
    rec = portal.state.structure(SIAGEP)
    token = piste_token(portal)
    portal.faults.add(Fault(kind="piste_5xx", step="piste_token"))
    r = httpx.post(
        portal.piste_oauth_url, data={"grant_type": "client_credentials"}, auth=("a", "b")
    )
    assert r.status_code == 503
    portal.faults.clear()
    portal.faults.add(Fault(kind="piste_5xx", step="piste_api", times=1))
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).status_code == 503
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).status_code == 200
    portal.faults.add(Fault(kind="http500", step="piste_api", times=1))
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).status_code == 500
    portal.faults.add(Fault(kind="slow", step="piste_token", seconds=0.3, times=1))
    start = time.monotonic()
    piste_token(portal)
    assert time.monotonic() - start >= 0.3
    portal.faults.add(Fault(kind="session_expired", step="piste_api", times=1))
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).status_code == 401
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).status_code == 401


def test_piste_reject_fault_refuses_even_the_current_password(portal: MockPortal) -> None:
    rec = portal.state.structure(SIAGEP)
    token = piste_token(portal)
    portal.faults.add(Fault(kind="piste_reject", step="piste_api", times=1))
    rejected = rattachements(portal, token, rec.tech_login, rec.tech_password)
    assert rejected.status_code == 200 and rejected.json()["codeRetour"] == 20001
    assert rattachements(portal, token, rec.tech_login, rec.tech_password).json()["codeRetour"] == 0


# ----- benchmark data -----------------------------------------------------------------


def test_extra_structures() -> None:
    with running(extra_structures=200) as portal, running(extra_structures=200) as twin:
        recs = portal.state.structures
        assert len(recs) == 214
        assert all(siret_mod.is_valid(r.siret) for r in recs)
        assert len({r.siret for r in recs}) == 214
        assert [r.siret for r in recs] == [r.siret for r in twin.state.structures]
        assert [r.name for r in recs] == [r.name for r in twin.state.structures]
        c = logged_in(portal)
        first = c.get("/cpp/gestionnaire?taille=50")
        assert "Page 1 / 5 (214 ligne(s))" in text_of(first.text)
        last = c.get("/cpp/gestionnaire?taille=5&page=43")
        assert rows_of(last.text) == [r.siret for r in recs[210:214]]
        assert "Page 43 / 43 (214 ligne(s))" in text_of(last.text)
        assert len(portal.state.account("paul.durand").sirets) == 3


# ----- standalone ---------------------------------------------------------------------


def test_standalone_server_starts_answers_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fixtures.mock_portal",
            "--port",
            "0",
            "--confirm",
            "inpage",
            "--confirm-label",
            "Oui",
            "--fault",
            "slow:chorus_home:0.1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=15), "no startup line"
        line = proc.stdout.readline()
        m = re.fullmatch(r"Mock portal listening on (http://127\.0\.0\.1:(\d+)/)\n", line)
        assert m and int(m.group(2)) > 0, line
        r = httpx.get(m.group(1), follow_redirects=True)
        assert r.status_code == 200 and "Connexion" in r.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ----- markup skins: the DOM as a tree ------------------------------------------------

VOID_TAGS = {"input", "br", "meta", "img", "hr", "link", "col", "area", "base", "source"}
SEPARATE_TAGS = {"td", "th", "tr", "div", "p", "li", "br", "button", "option", "h1", "h2", "h3"}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants (not self) with this tag and these exact attribute values."""
        return [
            n
            for n in self.walk()
            if n is not self
            and (tag is None or n.tag == tag)
            and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def with_class(self, name: str) -> list[Node]:
        return [n for n in self.walk() if n is not self and name in n.classes()]

    def raw_text(self) -> str:
        inner = "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)
        # Cells, blocks and buttons are apart on screen, as in the browser's innerText.
        return f" {inner} " if self.tag in SEPARATE_TAGS else inner

    def text(self) -> str:
        """What a person reads: any space is a space, ’ is an apostrophe."""
        return person(self.raw_text())

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()  # convert_charrefs: &nbsp; arrives as U+00A0, as in a browser
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID_TAGS:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(
            Node(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        )

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack[-1].tag not in ("script", "style"):
            self.stack[-1].children.append(data)


def dom(markup: str) -> Node:
    tree = _Tree()
    tree.feed(markup)
    return tree.root


def person(text: str) -> str:
    text = text.replace("\u2019", "'")
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def header_texts(table: Node) -> list[str]:
    return [th.text() for th in table.find_all("th")]


def structures_grid(root: Node) -> Node:
    """The one table whose own header row has every column of `Mes structures`."""
    found = [
        t
        for t in root.find_all("table")
        if {"Raison sociale", "Date de création", "Type", "Statut"} <= set(header_texts(t))
        and not t.find_all("table")
    ]
    assert len(found) == 1, [header_texts(t) for t in found]
    return found[0]


def structures_pager(root: Node) -> Node:
    """The paginator of the DataTable (div.ui-datatable) that holds `Mes structures`."""
    table = next(a for a in structures_grid(root).ancestors() if "ui-datatable" in a.classes())
    (pager,) = table.with_class("ui-paginator")
    return pager


def view_state(markup: str) -> str:
    inputs = dom(markup).find_all("input", name="javax.faces.ViewState", type="hidden")
    assert len(inputs) == 1
    return inputs[0].attrs["value"]


def jsf_open(c: httpx.Client, list_markup: str, siret: str) -> httpx.Response:
    """Click a row's icon button the way the browser would: POST the form with its name."""
    root = dom(list_markup)
    row = next(r for r in structures_grid(root).find_all("tr") if siret in r.text())
    (button,) = row.find_all("button")
    form = next(a for a in button.ancestors() if a.tag == "form")
    data = {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input", type="hidden")}
    data[button.attrs["name"]] = ""
    return c.post(form.attrs["action"], data=data, follow_redirects=False)


def jsf_reset(
    c: httpx.Client, portal: MockPortal, siret: str = SIAGEP, label: str = RESET_BUTTON
) -> httpx.Response:
    """Click the reset button of a jsf2017 structure page (a POST-back, confirmed)."""
    page = c.get(structure_url(portal, siret)).text
    root = dom(page)
    (button,) = [b for b in root.find_all("button") if label in b.text()]
    form = next(a for a in button.ancestors() if a.tag == "form")
    data = {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input", type="hidden")}
    data[button.attrs["name"]] = ""
    return c.post(form.attrs["action"], data=data, follow_redirects=False)


@pytest.fixture
def jsf_portal() -> Iterator[MockPortal]:
    with running(skin="jsf2017") as p:
        yield p


def jsf_pages(portal: MockPortal) -> dict[str, str]:
    """Every page of the documented path, rendered by the jsf2017 skin (second factor on)."""
    c = client(portal)
    out = {"login": c.get(LOGIN_PAGE).text}
    r = login(c)
    out["second_factor"] = r.text
    secret = portal.state.account("claire.martin").totp_secret or ""
    out["applications"] = c.post(
        "/portail/codeVerification.pl", data={"code": pyotp.TOTP(secret).now()}
    ).text
    out["chorus_home"] = c.get("/cpp/accueil").text
    out["gestionnaire"] = c.get("/cpp/gestionnaire").text
    out["structure"] = c.get(structure_url(portal, SIAGEP)).text
    out["result"] = c.get(jsf_reset(c, portal).headers["location"]).text
    return out


# ----- jsf2017 skin over HTTP ---------------------------------------------------------


def test_jsf_every_page_is_laid_out_with_nested_tables_and_french_typography() -> None:
    with running(skin="jsf2017", totp_for={"claire.martin"}) as portal:
        pages = jsf_pages(portal)
    expected = {
        "login": ["Identifiant :", "Mot de passe :", "ALERTE ESCROQUERIE :", LOGIN_HINT_TEXT],
        "second_factor": ["Code de vérification", "Valider"],
        "applications": ["Liste des applications disponibles pour Mme Claire MARTIN"],
        "chorus_home": ["Accueil connecté", "Fil d'événements", "Actualités"],
        "gestionnaire": ["Activités du gestionnaire", "Mes structures", "lignes par page"],
        "structure": [
            "Utilisateurs rattachés à la structure",
            "Gestionnaire Principal : Claire MARTIN",
            "Expiration du mot de passe de l'utilisateur technique :",
            RESET_BUTTON,
        ],
        "result": ["Réinitialisation du mot de passe", "Nouveau mot de passe :"],
    }
    for name, markup in pages.items():
        root = dom(markup)
        assert 'role="presentation"' not in markup, name
        nested = [t for t in root.find_all("table") if any(a.tag == "table" for a in t.ancestors())]
        assert nested, f"{name}: no table inside a table"
        assert not root.find_all("label"), f"{name}: a <label> element"
        text = root.text()
        for words in expected[name]:
            assert words in text, (name, words)
        # Typographic apostrophes and no-break spaces, never a plain space before a colon.
        raw = root.raw_text()
        assert "\u2019" in raw or "'" not in person(raw), name
        assert ":" not in raw or re.search(r"[\u00a0\u202f]:", raw), name
        assert not re.search(r"\w :", raw.replace("\n", " ")), (name, re.findall(r".{20}\w :", raw))


LOGIN_HINT_TEXT = (
    "Saisir la partie gauche (avant l'@) de l'adresse mél ou l'identifiant \"-xt\" "
    "pour les utilisateurs externes"
)


def test_jsf_login_labels_sit_in_the_cell_before_their_field(jsf_portal: MockPortal) -> None:
    markup = client(jsf_portal).get(LOGIN_PAGE).text
    root = dom(markup)
    naming = {"for", "aria-label", "aria-labelledby", "placeholder", "title"}
    assert not [n.attrs for n in root.walk() if naming & set(n.attrs)]
    assert not root.find_all("label")
    for words, kind in (("Identifiant :", "text"), ("Mot de passe :", "password")):
        (row,) = [
            tr
            for tr in root.find_all("tr")
            if len(tr.find_all("td")) == 2 and tr.find_all("td")[0].text() == words
        ]
        (box,) = row.find_all("td")[1].find_all("input")
        assert box.attrs["type"] == kind
    (submit,) = root.find_all("input", type="submit")
    assert submit.attrs["value"] == "Connexion"
    c = client(jsf_portal)
    assert "Liste des applications" in login(c).text  # the same form fields work


def test_jsf_structures_grid_sits_in_layout_tables_beside_other_grids(
    jsf_portal: MockPortal,
) -> None:
    markup = logged_in(jsf_portal).get("/cpp/gestionnaire").text
    root = dom(markup)
    grid = structures_grid(root)
    assert grid.attrs.get("role") == "grid"
    assert "ui-datatable" in grid.parent.parent.classes()  # type: ignore[union-attr]
    heads = grid.find_all("th")
    assert heads and all(th.attrs.get("role") == "columnheader" for th in heads)
    assert grid.find_all("span", class_="ui-column-title")[0].text() == "Identifiant structure"
    body_rows = [tr for tr in grid.find_all("tr") if tr.find_all("td")]
    assert len(body_rows) == 5 and all(tr.attrs.get("role") == "row" for tr in body_rows)
    assert all(td.attrs.get("role") == "gridcell" for tr in body_rows for td in tr.find_all("td"))
    # Its ancestors: a PrimeFaces panelGrid (a grid too), then plain layout tables.
    outer = [a for a in grid.ancestors() if a.tag == "table"]
    assert [a.attrs.get("role") for a in outer] == ["grid", None, None]
    # "The first table containing `Identifiant structure`" is the outer layout table.
    first = next(t for t in root.find_all("table") if "Identifiant structure" in t.text())
    assert first is outer[-1] and first is not grid
    # The panelGrid also holds other data tables with their own header rows and rows, one of
    # them with a column of the same name and SIRETs in its rows.
    others = [
        t
        for t in outer[0].find_all("table", role="grid")
        if t is not grid and t.find_all("th") and not t.find_all("table")
    ]
    demandes = [t for t in others if "Identifiant structure" in header_texts(t)]
    assert len(demandes) == 1 and SIAGEP in demandes[0].text()
    assert any(header_texts(t) == ["Tâche", "Échéance"] for t in others)
    assert "Demandes de rattachement à valider" in root.text()


def test_jsf_open_button_is_an_icon_only_post_back(jsf_portal: MockPortal) -> None:
    c = logged_in(jsf_portal)
    markup = c.get("/cpp/gestionnaire?page=3").text
    root = dom(markup)
    grid = structures_grid(root)
    buttons = grid.find_all("button")
    assert len(buttons) == 4
    for button in buttons:
        assert "ui-button-icon-only" in button.classes()
        assert button.attrs["title"] == "Consulter la structure"
        assert button.text() == "ui-button"  # what Playwright names it (docs/perception.md)
        assert "aria-label" not in button.attrs
        form = next(a for a in button.ancestors() if a.tag == "form")
        assert form.attrs["method"] == "post"
    assert "/cpp/structure/" not in markup  # no GET address of a structure on the list
    assert view_state(markup)
    opened = jsf_open(c, markup, PAGE3)
    assert opened.status_code == 303
    assert "Transports Fauvel et Fils" in c.get(opened.headers["location"]).text


PAGE3 = "93319084500067"


def test_jsf_post_back_needs_the_view_state_it_rendered(jsf_portal: MockPortal) -> None:
    c = logged_in(jsf_portal)
    markup = c.get("/cpp/gestionnaire").text
    good = view_state(markup)
    button = "formGestionnaire:tableStructures:0:btnConsulter"
    structure_state = view_state(c.get(structure_url(jsf_portal, SIAGEP)).text)
    for state in (None, "-1:-1", structure_state):
        data = {"formGestionnaire": "formGestionnaire", button: ""}
        if state is not None:
            data["javax.faces.ViewState"] = state
        r = c.post("/cpp/gestionnaire", data=data, follow_redirects=False)
        assert r.status_code == 403, state
    # Another session's view state is unknown here too.
    other = logged_in(jsf_portal)
    r = other.post(
        "/cpp/gestionnaire",
        data={"javax.faces.ViewState": good, button: ""},
        follow_redirects=False,
    )
    assert r.status_code == 403
    r = c.post(
        "/cpp/gestionnaire",
        data={"javax.faces.ViewState": good, button: ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == structure_url(jsf_portal, SIAGEP)


def test_jsf_reset_is_a_post_back_refused_without_its_view_state(jsf_portal: MockPortal) -> None:
    c = logged_in(jsf_portal)
    rec = jsf_portal.state.structure(SIAGEP)
    old = (rec.tech_password, rec.expiry)
    url = structure_url(jsf_portal, SIAGEP)
    page = c.get(url).text
    root = dom(page)
    (button,) = [b for b in root.find_all("button") if RESET_BUTTON in b.text()]
    assert {"ui-button", "ui-button-text-icon-left"} <= button.classes()
    assert button.find_all("span", class_="ui-button-icon-left ui-icon ui-c fa fa-refresh")
    assert "jeton" not in page
    other_view = view_state(c.get(structure_url(jsf_portal, PAGE3)).text)
    for state in (None, "-1:-1", other_view, view_state(c.get("/cpp/gestionnaire").text)):
        data = {button.attrs["name"]: ""}
        if state:
            data["javax.faces.ViewState"] = state
        assert c.post(url, data=data, follow_redirects=False).status_code == 403
    assert (rec.tech_password, rec.expiry, rec.reset_count) == (*old, 0)
    before = datetime.now(PARIS)
    r = jsf_reset(c, jsf_portal)
    assert r.status_code == 303 and rec.reset_count == 1
    assert_expiry_moved_between(rec.expiry, before)
    result = dom(c.get(r.headers["location"]).text)
    (row,) = [tr for tr in result.find_all("tr") if tr.text().startswith("Nouveau mot de passe")]
    assert row.find_all("td")[1].text() == rec.tech_password


def test_jsf_pager_controls_are_spans_without_role(jsf_portal: MockPortal) -> None:
    c = logged_in(jsf_portal)
    pages = [dom(c.get(f"/cpp/gestionnaire?page={n}").text) for n in (1, 2, 3)]
    for n, root in enumerate(pages, start=1):
        pager = structures_pager(root)
        controls = [s for s in pager.find_all("span") if s.classes() & PAGER_CLASSES]
        assert controls and all(s.tag == "span" and "role" not in s.attrs for s in controls)
        assert "role" not in str([s.attrs for s in pager.with_class("ui-paginator-page")])
        (current,) = pager.with_class("ui-state-active")
        assert current.text() == str(n)
        assert [s.text() for s in pager.with_class("ui-paginator-page")] == ["1", "2", "3"]
        report = f"{5 * n - 4} - {min(5 * n, 14)} sur 14"
        assert pager.with_class("ui-paginator-current")[0].text() == report
        assert "lignes par page" in pager.text() and pager.find_all("select")
        assert not pager.find_all("a") and not pager.find_all("button")
    first_page = structures_pager(pages[0])
    (nxt,) = first_page.with_class("ui-paginator-next")
    assert nxt.text() == "›" and nxt.attrs["aria-label"] == "Page suivante"
    assert nxt.attrs["tabindex"] == "0" and "CPP.page(2)" in nxt.attrs["onclick"]
    (prev,) = first_page.with_class("ui-paginator-prev")
    assert "ui-state-disabled" in prev.classes()
    assert "tabindex" not in prev.attrs and "onclick" not in prev.attrs
    assert prev.attrs["title"] == "Page précédente" and "aria-label" not in prev.attrs
    (last_next,) = structures_pager(pages[2]).with_class("ui-paginator-next")
    assert "ui-state-disabled" in last_next.classes() and "tabindex" not in last_next.attrs
    (middle_prev,) = structures_pager(pages[1]).with_class("ui-paginator-prev")
    assert "CPP.page(1)" in middle_prev.attrs["onclick"] and middle_prev.text() == "‹"


PAGER_CLASSES = {
    "ui-paginator-first",
    "ui-paginator-prev",
    "ui-paginator-next",
    "ui-paginator-last",
}


def test_jsf_menus_and_links_are_script_anchors(jsf_portal: MockPortal) -> None:
    c = logged_in(jsf_portal)
    apps = dom(c.get("/portail/applications.pl").text)
    (chorus,) = [a for a in apps.find_all("a") if a.text() == "Chorus Pro"]
    assert chorus.attrs["href"] == "#" and "/cpp/accueil" in chorus.attrs["onclick"]
    home = dom(c.get("/cpp/accueil").text)
    (item,) = [a for a in home.find_all("a") if a.text() == "Activités du gestionnaire"]
    assert item.attrs["href"] == "#" and "ui-menuitem-link" in item.classes()
    assert item.find_all("span", class_="ui-menuitem-text")
    assert item.parent.attrs.get("role") == "menuitem"  # type: ignore[union-attr]
    assert "/cpp/gestionnaire" in item.attrs["onclick"]
    with running(skin="jsf2017", chorus_tab="new") as portal:
        page = dom(logged_in(portal).get("/portail/applications.pl").text)
        (chorus,) = [a for a in page.find_all("a") if a.text() == "Chorus Pro"]
        assert "window.open(" in chorus.attrs["onclick"]


def test_jsf_technical_lines_are_cell_pairs(jsf_portal: MockPortal) -> None:
    rec = jsf_portal.state.structure(SIAGEP)
    root = dom(logged_in(jsf_portal).get(structure_url(jsf_portal, SIAGEP)).text)
    pairs = {
        tr.find_all("td")[0].text(): tr.find_all("td")[1].text()
        for tr in root.find_all("tr")
        if len(tr.find_all("td")) == 2
    }
    assert pairs["Utilisateur technique :"] == "TECH_025900096600020@cpp2017 (ACTIF)"
    expiry = rec.expiry.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")  # type: ignore[union-attr]
    assert pairs["Expiration du mot de passe de l'utilisateur technique :"] == expiry
    assert pairs["Gestionnaire Principal :"] == "Claire MARTIN"
    raw = root.raw_text()
    assert "Expiration du mot de passe de l\u2019utilisateur technique\u00a0:" in raw
    assert "Utilisateur technique\u202f:" in raw
    assert "(2 ligne(s))" in root.text()


@pytest.mark.parametrize("label", ["Confirmer", "Oui"])
def test_jsf_confirm_dialog_is_a_primefaces_confirm_dialog(label: str) -> None:
    with running(skin="jsf2017", confirm="inpage", confirm_label=label) as portal:
        page = logged_in(portal).get(structure_url(portal, SIAGEP)).text
    root = dom(page)
    (dlg,) = root.with_class("ui-confirm-dialog")
    assert "ui-dialog" in dlg.classes() and "display:none" in dlg.attrs["style"]
    assert not any(k == "role" or k.startswith("aria-") for k in dlg.attrs)  # added on show
    (title,) = dlg.with_class("ui-dialog-title")
    assert title.text() == "Confirmation" and "id" not in title.attrs
    assert CONFIRM_QUESTION in dlg.text()
    assert [b.text() for b in dlg.find_all("button")] == [
        label,
        "Non" if label == "Oui" else "Annuler",
    ]
    assert 'role="dialog"' not in page and "confirm(" not in page.replace("CPP.confirm(", "")


def test_jsf_browser_confirm_and_no_confirm() -> None:
    with running(skin="jsf2017", confirm="browser") as portal:
        page = logged_in(portal).get(structure_url(portal, SIAGEP)).text
        (button,) = [b for b in dom(page).find_all("button") if RESET_BUTTON in b.text()]
        assert button.attrs["onclick"].startswith("if(!confirm('Confirmez-vous")
        assert "ui-confirm-dialog" not in page
    with running(skin="jsf2017", confirm="none") as portal:
        page = logged_in(portal).get(structure_url(portal, SIAGEP)).text
        assert "confirm(" not in page and "ui-confirm-dialog" not in page


def test_jsf_result_variants() -> None:
    with running(skin="jsf2017", password_display="field", result_view="dialog") as portal:
        c = logged_in(portal)
        r = jsf_reset(c, portal)
        assert r.headers["location"].startswith(structure_url(portal, SIAGEP) + "?")
        page = c.get(r.headers["location"]).text
        root = dom(page)
        pw = portal.state.structure(SIAGEP).tech_password
        (dlg,) = [d for d in root.with_class("ui-dialog") if "Nouveau mot de passe" in d.text()]
        assert "role" not in dlg.attrs and "CPP.show('dlgResultat')" in page  # shown by script
        (row,) = [tr for tr in dlg.find_all("tr") if tr.text().startswith("Nouveau mot de passe")]
        assert row.find_all("td")[0].text() == "Nouveau mot de passe"
        (field_,) = row.find_all("input")
        assert field_.attrs["readonly"] == "readonly" and field_.attrs["value"] == pw
        assert "Fermer" in dlg.text() and "Exporter les informations de connexion" in dlg.text()
        assert pw not in c.get(r.headers["location"]).text  # shown once


# ----- both skins: structures without a technical user, drift and failure options ------

SKINS_BOTH = ["modern", "jsf2017"]
NO_TECH = "31852476600157"


@pytest.mark.parametrize("skin", SKINS_BOTH)
def test_structure_without_technical_user(skin: str) -> None:
    with running(skin=skin) as portal:
        rec = portal.state.structure(NO_TECH)
        assert rec.owner == "paul.durand" and not rec.has_technical_user
        assert rec.tech_login is None and rec.tech_password is None and rec.expiry is None
        c = logged_in(portal, PAUL)
        listing = text_of(c.get("/cpp/gestionnaire").text)
        assert NO_TECH in listing and "20147893000153" in listing
        page = c.get(structure_url(portal, NO_TECH)).text
        text = person(text_of(page))
        assert "Utilisateurs rattachés à la structure" in text
        assert "Gestionnaire Principal : Paul DURAND" in text and "ODILE" not in text
        assert "MERCIER" in text and "(2 ligne(s))" in text
        assert "Utilisateur technique" not in text and "Expiration" not in text
        assert RESET_BUTTON not in text
        # The page is complete: the same blocks as a structure with a technical user.
        assert "Rattacher un utilisateur" in text and "Informations générales" in text
        # A forged reset changes nothing.
        with_tech = c.get(structure_url(portal, "60161055300088")).text
        if skin == "modern":
            r = c.post(
                structure_url(portal, NO_TECH) + "/reinitialiser", data={"jeton": csrf(with_tech)}
            )
        else:
            r = c.post(
                structure_url(portal, NO_TECH),
                data={
                    "javax.faces.ViewState": view_state(page),
                    "formStructure:btnReinitialiser": "",
                },
            )
        assert r.status_code == 403 and rec.reset_count == 0 and rec.tech_password is None


@pytest.mark.parametrize("skin", SKINS_BOTH)
def test_reset_label_renames_the_button(skin: str) -> None:
    with running(skin=skin, reset_label="Générer un nouveau mot de passe") as portal:
        c = logged_in(portal)
        text = person(text_of(c.get(structure_url(portal, SIAGEP)).text))
        assert "Générer un nouveau mot de passe" in text and RESET_BUTTON not in text
        label = "Générer un nouveau mot de passe"
        r = post_reset(c, portal) if skin == "modern" else jsf_reset(c, portal, label=label)
        assert r.status_code == 303 and portal.state.structure(SIAGEP).reset_count == 1


@pytest.mark.parametrize("skin", SKINS_BOTH)
def test_structures_header_renamed(skin: str) -> None:
    with running(skin=skin, structures_header="N° SIRET") as portal:
        page = logged_in(portal).get("/cpp/gestionnaire").text
        grid = structures_grid(dom(page))
        assert header_texts(grid)[0] == "N° SIRET"
        assert "Identifiant structure" not in text_of(page)
        assert SIAGEP in grid.text()


@pytest.mark.parametrize("skin", SKINS_BOTH)
def test_hide_structures_table(skin: str) -> None:
    with running(skin=skin, hide_structures_table=True) as portal:
        c = logged_in(portal)
        page = c.get("/cpp/gestionnaire").text
        text = person(text_of(page))
        assert "Mes structures" in text
        assert "Une erreur technique est survenue lors de la récupération de vos structures." in (
            text
        )
        mes_structures = text[text.index("Mes structures") :]
        assert not re.search(r"\d{14}", mes_structures)
        assert "Raison sociale Date de création" not in text and "Page suivante" not in page
        assert "sur 14" not in text and "14 ligne(s)" not in text


@pytest.mark.parametrize("skin", SKINS_BOTH)
def test_drop_row_on_page(skin: str) -> None:
    with running(skin=skin, drop_row_on_page=2) as portal:
        c = logged_in(portal)
        sirets = [r.siret for r in portal.state.structures]
        seen = []
        for n in (1, 2, 3):
            page = c.get(f"/cpp/gestionnaire?page={n}").text
            grid = structures_grid(dom(page))
            rows = [tr.find_all("td")[0].text() for tr in grid.find_all("tr") if tr.find_all("td")]
            seen.append(rows)
            announced = "(14 ligne(s))" if skin == "modern" else " sur 14"
            assert announced in text_of(page)
        assert seen == [sirets[0:5], sirets[5:9], sirets[10:14]]


def test_options_are_validated() -> None:
    for bad in (
        {"skin": "retro"},
        {"drop_row_on_page": 0},
        {"reset_label": " "},
        {"structures_header": ""},
    ):
        with pytest.raises(ValueError):
            MockPortal(PortalOptions(**bad))  # type: ignore[arg-type]


# ----- mixed skin -----------------------------------------------------------------------


def flavour(markup: str) -> str:
    return "jsf2017" if "ui-widget" in markup else "modern"


def mixed_walk(seed: int | None) -> tuple[int, list[str], list[tuple[str, int, str]]]:
    with running(skin="mixed", skin_seed=seed) as portal:
        c = client(portal)
        seen = [flavour(c.get(LOGIN_PAGE).text), flavour(login(c).text)]
        for _ in range(3):
            for path in ("/cpp/accueil", "/cpp/gestionnaire", structure_url(portal, SIAGEP)):
                seen.append(flavour(c.get(path).text))
        return portal.skin_seed, seen, list(portal.skin_draws)


def test_mixed_skin_is_reproducible_from_its_seed() -> None:
    seed, seen, draws = mixed_walk(None)
    print(f"mixed skin seed: {seed}")  # pytest shows it when the test fails
    assert isinstance(seed, int)
    assert mixed_walk(seed) == (seed, seen, draws)
    assert [skin for _, _, skin in draws] == seen  # the log says what was served
    # Both skins come out, and the same kind of page can change from one visit to the next.
    _, fixed, _ = mixed_walk(12345)
    assert set(fixed) == {"modern", "jsf2017"}
    assert any(len({fixed[i] for i in (k, k + 3, k + 6)}) == 2 for k in range(2, 5))
    assert mixed_walk(12345)[1] == fixed and mixed_walk(54321)[1] != fixed


def test_mixed_skin_serves_a_working_path() -> None:
    """Whatever each page's skin, a login, a list, an open and a reset work over HTTP."""
    for seed in range(6):
        with running(skin="mixed", skin_seed=seed) as portal:
            c = logged_in(portal)
            page = c.get("/cpp/gestionnaire").text
            if flavour(page) == "jsf2017":
                opened = c.get(jsf_open(c, page, SIAGEP).headers["location"]).text
            else:
                opened = c.get(structure_url(portal, SIAGEP)).text
            assert "Utilisateurs rattachés à la structure" in opened
            url = structure_url(portal, SIAGEP)
            # Submit the form of the page as served (the next visit may be the other skin).
            if flavour(opened) == "modern":
                r = c.post(url + "/reinitialiser", data={"jeton": csrf(opened)})
            else:
                (button,) = [b for b in dom(opened).find_all("button") if RESET_BUTTON in b.text()]
                data = {"javax.faces.ViewState": view_state(opened), button.attrs["name"]: ""}
                r = c.post(url, data=data)
            assert "Nouveau mot de passe" in person(text_of(r.text)), seed
            assert portal.state.structure(SIAGEP).reset_count == 1, seed


# ----- command line ---------------------------------------------------------------------


@contextmanager
def standalone(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixtures.mock_portal", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=15), "no startup line"
        line = proc.stdout.readline()
        m = re.fullmatch(r"Mock portal listening on (http://127\.0\.0\.1:\d+/)\n", line)
        assert m, line
        yield m.group(1), proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def cli_client(url: str) -> httpx.Client:
    c = httpx.Client(base_url=url, follow_redirects=True, timeout=10)
    assert "Liste des applications" in login(c).text
    return c


def test_cli_skin_and_drift_flags() -> None:
    args = ("--skin", "jsf2017", "--reset-label", "Nouveau secret", "--structures-header")
    with standalone(*args, "N° SIRET", "--drop-row-on-page", "1") as (url, _proc):
        c = cli_client(url)
        page = c.get("/cpp/gestionnaire").text
        grid = structures_grid(dom(page))
        assert grid.attrs["role"] == "grid" and header_texts(grid)[0] == "N° SIRET"
        assert len([tr for tr in grid.find_all("tr") if tr.find_all("td")]) == 4
        opened = c.get(jsf_open(c, page, SIAGEP).headers["location"]).text
        assert "Nouveau secret" in text_of(opened) and RESET_BUTTON not in text_of(opened)
    with standalone("--skin", "mixed", "--skin-seed", "77", "--hide-structures-table") as (
        url,
        proc,
    ):
        page = cli_client(url).get("/cpp/gestionnaire").text
        assert "Une erreur technique est survenue" in person(text_of(page))
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
        assert "skin mixed, --skin-seed 77" in err


# ----- jsf2017 in a real browser ----------------------------------------------------------


def test_jsf_as_playwright_perceives_it(page: Page) -> None:
    with running(skin="jsf2017", confirm="inpage", confirm_label="Oui") as portal:
        page.goto(portal.url)
        # Labels are not attached: Playwright finds no field by label.
        assert page.get_by_label("Identifiant").count() == 0
        assert page.get_by_label("Mot de passe").count() == 0
        by_cell(page, "Identifiant").fill(CLAIRE[0])
        by_cell(page, "Mot de passe").fill(CLAIRE[1])
        page.get_by_role("button", name="Connexion").click()
        page.get_by_text("Chorus Pro", exact=True).click()
        page.get_by_text("Activités du gestionnaire", exact=True).click()
        page.get_by_text("1 - 5 sur 14").wait_for()
        # The first "table" with the header text is a layout table holding the grids.
        first = page.get_by_role("table").filter(has_text="Identifiant structure").first
        assert first.evaluate("t => t.querySelectorAll('table[role=grid]').length") >= 4
        innermost = page.get_by_role("grid").filter(has_not=page.get_by_role("grid"))
        structures = innermost.filter(has=page.get_by_role("columnheader", name="Date de création"))
        assert structures.count() == 1
        assert structures.get_by_role("row").count() == 6
        # Every role=table holding the text is layout: the data is in a grid inside it.
        tables = page.get_by_role("table").filter(has_text="Date de création")
        assert tables.count() >= 1 and tables.filter(has_not=page.get_by_role("grid")).count() == 0
        # The open buttons are named `ui-button`; only their title says what they do.
        assert structures.get_by_role("button", name="ui-button", exact=True).count() == 5
        assert page.get_by_role("button", name="Consulter la structure").count() == 0
        assert page.get_by_title("Consulter la structure").count() == 5
        # The pager's spans have no role: neither link nor button, only a label or a title.
        for role in ("link", "button"):
            assert page.get_by_role(role, name="Page suivante").count() == 0  # type: ignore[arg-type]
        page.get_by_label("Page suivante").click()
        page.get_by_text("6 - 10 sur 14").wait_for()
        page.get_by_title("Page précédente").click()
        page.get_by_text("1 - 5 sur 14").wait_for()
        page.locator(".ui-paginator-page", has_text="3").focus()
        page.keyboard.press("Enter")  # keyboard users can page too, as on PrimeFaces
        page.get_by_text("11 - 14 sur 14").wait_for()
        # Open a structure from its row: a POST-back.
        row = structures.get_by_role("row").filter(has_text=PAGE3)
        with page.expect_request(lambda r: r.method == "POST") as posted:
            row.get_by_title("Consulter la structure").click()
        assert "javax.faces.ViewState" in (posted.value.post_data or "")
        page.get_by_text("Utilisateurs rattachés à la structure").wait_for()
        # The ConfirmDialog has no role until shown, and no accessible name once shown.
        assert page.get_by_role("dialog").count() == 0
        assert page.get_by_role("dialog", include_hidden=True).count() == 0
        page.get_by_role("button", name=RESET_BUTTON).click()
        dialog = page.get_by_role("dialog")
        dialog.wait_for()
        assert page.get_by_role("dialog", name="Confirmation").count() == 0
        assert page.get_by_role("dialog").filter(has_text="Confirmez-vous").count() == 1
        dialog.get_by_role("button", name="Non").click()
        page.get_by_role("dialog").wait_for(state="detached")
        assert portal.state.structure(PAGE3).reset_count == 0


def innermost_row(page: Page, text: str) -> Locator:
    """The table row a person means: the one with `text` that holds no other row (layout)."""
    return page.get_by_role("row").filter(has_text=text).filter(has_not=page.get_by_role("row"))


def by_cell(page: Page, words: str) -> Locator:
    """The field in the cell just after the one that reads `words` (as a person sees it)."""
    label_cell = page.get_by_role("cell", name=re.compile(rf"^{words}\s*:?$"))
    return label_cell.locator("xpath=following-sibling::td[1]//input")


@pytest.mark.parametrize(
    "options",
    [
        {"confirm": "inpage", "confirm_label": "Oui"},
        {"confirm": "browser", "result_view": "dialog", "password_display": "field"},
    ],
    ids=["confirm-dialog-result-page", "browser-confirm-result-dialog"],
)
def test_a_person_walks_the_jsf_skin_by_visible_text(page: Page, options: dict) -> None:
    with running(skin="jsf2017", totp_for={"claire.martin"}, **options) as portal:
        rec = portal.state.structure(PAGE3)
        old = rec.tech_password
        page.goto(portal.url)
        by_cell(page, "Identifiant").fill(CLAIRE[0])
        by_cell(page, "Mot de passe").fill(CLAIRE[1])
        page.get_by_text("Connexion").click()
        secret = portal.state.account("claire.martin").totp_secret or ""
        page.get_by_text("Code de vérification").first.wait_for()
        by_cell(page, "Code de vérification").fill(pyotp.TOTP(secret).now())
        page.get_by_text("Valider").click()
        page.get_by_text("Chorus Pro", exact=True).click()
        page.get_by_text("Activités du gestionnaire", exact=True).click()
        for report in ("6 - 10 sur 14", "11 - 14 sur 14"):
            page.get_by_label("Page suivante").click()
            page.get_by_text(report).wait_for()
        innermost_row(page, PAGE3).get_by_title("Consulter la structure").click()
        page.get_by_text("Transports Fauvel et Fils").first.wait_for()
        line = innermost_row(page, "Utilisateur technique").first  # then the expiry line
        assert "TECH_1_93319084500067@cpro.fr" in line.inner_text()
        before = datetime.now(PARIS)
        if options["confirm"] == "browser":
            page.once("dialog", lambda d: d.accept())
            page.get_by_text(RESET_BUTTON).click()
        else:
            page.get_by_text(RESET_BUTTON).click()
            page.get_by_text("Oui", exact=True).click()
        shown = innermost_row(page, "Nouveau mot de passe")
        shown.wait_for()
        if options.get("password_display") == "field":
            value = shown.locator("input").input_value()
        else:
            value = person(shown.inner_text()).split(":", 1)[1].strip()
        assert value == rec.tech_password and value != old
        assert rec.reset_count == 1
        assert_expiry_moved_between(rec.expiry, before)
