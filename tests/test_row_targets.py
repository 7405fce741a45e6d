"""Where a row's control leads, read from the page as the browser would act on a click.

The walk through `Mes structures` hands these targets to reader tabs (flows/readers.py), so a
wrong one would read the wrong page or lose the session: each markup habit is checked here,
in Chromium, against snippets an independently written portal may serve.
"""

from __future__ import annotations

from playwright.sync_api import Page

from flows.pages.manager_activities import ManagerActivitiesPage
from flows.perceive import Perception

SIAGEP = "25900096600020"
OTHER = "15881399800099"
BASE = "https://portail.example.fr/cpp/"


def _table(rows: str) -> str:
    return f"""<base href="{BASE}"><table>
<thead><tr><th>Identifiant structure</th><th>Raison sociale</th><th></th></tr></thead>
<tbody>{rows}</tbody></table>"""


def _targets(page: Page) -> dict:
    return {row.siret: t for row, t in ManagerActivitiesPage(page).read_rows_with_targets()}


def test_a_link_leads_to_its_href(page: Page):
    page.set_content(
        _table(f'<tr><td>{SIAGEP}</td><td>SIAGEP</td><td><a href="structure?id=7">Consulter</a>')
    )
    target = _targets(page)[SIAGEP]
    assert (target.method, target.url) == ("get", f"{BASE}structure?id=7")
    assert target.reusable


def test_a_get_form_leads_to_its_action_with_its_fields(page: Page):
    page.set_content(
        _table(
            f"""<tr><td>{SIAGEP}</td><td>SIAGEP</td><td><form method="get" action="fiche">
<input type="hidden" name="id" value="7"><button title="Consulter la structure">
<svg width="9" height="9"></svg></button></form></td></tr>"""
        )
    )
    target = _targets(page)[SIAGEP]
    assert (target.method, target.url, target.fields) == ("get", f"{BASE}fiche?id=7", ())


def test_a_jsf_post_back_keeps_its_view_state_and_the_button_name(page: Page):
    # A PrimeFaces icon-only command button: no URL in the row, only its form's post-back.
    page.set_content(
        f"""<base href="{BASE}"><form id="f" method="post" action="gestionnaire.xhtml"
 enctype="application/x-www-form-urlencoded"><input type="hidden" name="f" value="f">
<div class="ui-datatable"><table role="grid"><thead><tr role="row">
<th role="columnheader">Identifiant structure</th><th role="columnheader"></th></tr></thead>
<tbody><tr role="row"><td role="gridcell">{SIAGEP}</td><td role="gridcell">
<button id="f:t:0:b" name="f:t:0:b" type="submit" title="Consulter la structure"
 class="ui-button ui-button-icon-only"><span class="ui-button-text">ui-button</span></button>
</td></tr><tr role="row"><td role="gridcell">{OTHER}</td><td role="gridcell">
<button id="f:t:1:b" name="f:t:1:b" type="submit" title="Consulter la structure"
 class="ui-button ui-button-icon-only"><span class="ui-button-text">ui-button</span></button>
</td></tr></tbody></table></div>
<input type="hidden" name="javax.faces.ViewState" value="-123:456"></form>"""
    )
    targets = _targets(page)
    first = targets[SIAGEP]
    assert (first.method, first.url) == ("post", f"{BASE}gestionnaire.xhtml")
    assert dict(first.fields) == {"f": "f", "f:t:0:b": "", "javax.faces.ViewState": "-123:456"}
    assert "f:t:0:b" not in dict(targets[OTHER].fields)  # each row posts its own button
    assert first.reusable


def test_a_control_with_its_own_script_is_only_clicked(page: Page):
    page.set_content(
        _table(
            f"""<tr><td>{SIAGEP}</td><td>SIAGEP</td><td>
<a href="#" onclick="CPP.nav('structure/7');return false;" title="Consulter">
<span>Consulter</span></a></td></tr>
<tr><td>{OTHER}</td><td>X</td><td><span tabindex="0" onclick="go(8)">Consulter</span></td></tr>"""
        )
    )
    targets = _targets(page)
    assert targets[SIAGEP] is not None and not targets[SIAGEP].reusable
    assert targets[OTHER] is None  # no URL and no form: nothing another tab could do


def test_a_row_with_several_controls_uses_the_one_named_for_the_structure(page: Page):
    page.set_content(
        _table(
            f"""<tr><td>{SIAGEP}</td><td>SIAGEP</td><td>
<a href="supprimer?id=7" title="Supprimer">x</a>
<a href="fiche?id=7" title="Consulter la structure">o</a></td></tr>"""
        )
    )
    assert _targets(page)[SIAGEP].url == f"{BASE}fiche?id=7"


def test_target_of_any_control(page: Page):
    page.set_content(
        f"""<base href="{BASE}"><form method="post" action="go">
<input name="q" value="1"><input type="submit" name="ok" value="Valider"></form>
<p>Nothing here</p>"""
    )
    see = Perception(page)
    target = see.target_of(page.get_by_role("button", name="Valider"))
    assert target is not None and dict(target.fields) == {"q": "1", "ok": "Valider"}
    assert see.target_of(page.get_by_text("Nothing here")) is None
