"""The French interface (issue 13, item 3): the main commands in both languages, with a
detector of English words in the French output; what tools read (JSON, exit codes, the
audit trail, failure.json, keyring names) identical in both; and the catalog complete."""

from __future__ import annotations

import html
import json
import re
import string
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import parse_po
from flows.doctor import planned_steps
from flows.texts import DEFAULT_TEXTS
from tests.conftest import PAGE3_SIRET, REPO, SIAGEP, Cli
from tests.runs import error_line, history, run_folder

FRENCH = {"LC_ALL": "fr_FR.UTF-8"}
ENGLISH = {"LC_ALL": "C.UTF-8"}
CATALOG = REPO / "bot" / "locale" / "fr.po"

# Words of English sentences that French never uses. Identifiers (commands, options, keyring
# services, file names, logins) are taken out before looking.
ENGLISH_WORDS = set(
    [
        "the",
        "and",
        "with",
        "is",
        "are",
        "was",
        "were",
        "not",
        "this",
        "that",
        "these",
        "from",
        "for",
        "of",
        "to",
        "be",
        "been",
        "has",
        "have",
        "will",
        "would",
        "should",
        "could",
        "cannot",
        "can",
        "which",
        "when",
        "then",
        "there",
        "it",
        "its",
        "in",
        "into",
        "by",
        "your",
        "you",
        "yes",
        "no",
        "password",
        "passwords",
        "expires",
        "expired",
        "expiry",
        "days",
        "stored",
        "store",
        "error",
        "found",
        "show",
        "please",
        "only",
        "also",
        "every",
        "none",
        "must",
        "does",
        "done",
        "read",
        "run",
        "print",
        "keyring",
        "technical",
        "user",
        "login",
        "value",
        "left",
        "soon",
        "new",
        "old",
        "failed",
        "failure",
        "usage",
        "try",
        "help",
        "such",
        "missing",
        "invalid",
        "option's",
        "structure's",
        "seen",
        "refused",
        "step",
        "folder",
        "saved",
        "diagnosis",
    ]
)


def english_words(text: str) -> list[str]:
    """The English words left in a text once its identifiers are taken out."""
    text = re.sub(r"`[^`]*`", " ", text)  # `chorus-bot credentials set`, `Mes structures`
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"chorus-bot(:| [a-z][a-z-]*(?: [a-z][a-z-]*)?)", " ", text)  # commands
    text = re.sub(r"<[a-z]+>", " ", text)  # metavars: <int>, <path>
    text = re.sub(r"(?<![\w-])--?[a-z][\w-]*", " ", text)  # options: --help, -v
    words = []
    for token in re.split(r"\s+", text):
        token = token.strip(string.punctuation + "«»—…")
        # Keep plain words only: identifiers hold digits, dots, slashes, @, _, -, = …
        plain = token and re.fullmatch(r"[A-Za-zÀ-ÿ]+", token)
        if plain and token.lower() in ENGLISH_WORDS:
            words.append(token)
    return words


def assert_french(text: str) -> None:
    leaks = english_words(text)
    assert not leaks, f"English in the French output: {leaks}\n{text}"


def test_the_detector_sees_an_english_sentence_and_spares_identifiers():
    assert english_words("the keyring is locked, cannot read it") == [
        "the",
        "keyring",
        "is",
        "cannot",
        "read",
        "it",
    ]
    assert (
        english_words(
            "lancez `chorus-bot reset --all` ; chorus-bot secret show --structure 25900096600020 "
            "TECH_1_25900096600020@cpro.fr chorus-bot/technical/25900096600020 --warn-days <int>"
        )
        == []
    )


# --- the catalog --------------------------------------------------------------------------


def _fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_every_text_the_code_marks_has_its_french_with_the_same_placeholders():
    sys.path.insert(0, str(REPO / "scripts"))
    import update_catalog

    catalog = parse_po(CATALOG.read_text(encoding="utf-8"))
    found = update_catalog.extract()
    assert len(found) > 300
    untranslated = [key for key in found if isinstance(key, str) and not catalog.get(key)]
    assert not untranslated, "run scripts/update_catalog.py and translate: " + repr(untranslated)
    for key in found:
        assert _fields(catalog[key]) == _fields(key), key


def test_our_reading_of_the_po_is_babels():
    with CATALOG.open("rb") as handle:
        babel = read_po(handle, locale="fr")
    ours = parse_po(CATALOG.read_text(encoding="utf-8"))
    expected = {m.id: m.string for m in babel if m.id and m.string and not m.fuzzy}
    assert ours == expected


# --- the commands, in both languages --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("check", "--help"),
        ("status", "--help"),
        ("reset", "--help"),
        ("credentials", "set", "--help"),
    ],
)
def test_help_is_french_under_a_french_locale(cli, args):
    french, english = cli(*args, **FRENCH), cli(*args, **ENGLISH)

    assert french.returncode == english.returncode == 0
    assert french.stdout.startswith("Utilisation : chorus-bot")
    assert english.stdout.startswith("Usage: chorus-bot")
    assert_french(french.output)
    assert "Afficher cette aide et quitter." in french.stdout


def test_the_language_follows_lang_lc_messages_and_chorus_bot_lang(cli):
    assert cli("--help", LC_ALL=None, LANG="fr_FR.UTF-8").stdout.startswith("Utilisation")
    assert cli("--help", LC_ALL=None, LANG="C", LC_MESSAGES="fr_CA.UTF-8").stdout.startswith(
        "Utilisation"
    )
    assert cli("--help", **FRENCH, CHORUS_BOT_LANG="en").stdout.startswith("Usage:")
    assert cli("--help", **ENGLISH, CHORUS_BOT_LANG="fr").stdout.startswith("Utilisation")


def test_a_bad_siret_and_a_usage_error_in_french(cli, portal):
    bad = cli("check", "--structure", "25900096600021", **FRENCH)
    assert bad.returncode == 2
    assert bad.stderr.startswith(
        "chorus-bot: erreur : la clé de contrôle du SIRET 25900096600021 est fausse."
    )
    assert_french(bad.output)

    usage = cli("check", "--warn-days", "trente", **FRENCH)
    assert usage.returncode == 2
    assert (
        "Erreur : Valeur incorrecte pour '--warn-days' : 'trente' n'est pas un nombre entier"
        in (usage.stderr)
    )
    assert_french(usage.output)
    unknown = cli("check", "--frobnicate", **FRENCH)
    assert unknown.returncode == 2
    assert "Option inconnue : --frobnicate" in unknown.stderr
    assert_french(unknown.output)
    assert portal.state.requests == []


def test_a_refused_login_in_french_and_the_same_records_in_both(cli, portal, real_keyring):
    french = cli("check", "--structure", SIAGEP, CHORUS_BOT_PASSWORD="wrong-one", **FRENCH)
    english = cli("check", "--structure", SIAGEP, CHORUS_BOT_PASSWORD="wrong-one", **ENGLISH)

    assert french.returncode == english.returncode == 1
    line = error_line(english)
    french_line = next(x for x in french.stderr.splitlines() if x.startswith("chorus-bot:"))
    assert french_line.startswith(
        "chorus-bot: erreur : connexion : le portail a refusé l'identifiant ou le mot de passe"
    )
    assert "chorus-bot: diagnostic enregistré dans " in french.stderr
    assert_french(french.output)
    # What tools read is English in both: failure.json and the audit trail.
    failure = json.loads((run_folder(english) / "failure.json").read_text(encoding="utf-8"))
    assert line == f"chorus-bot: error: {failure['error']}"
    folders = sorted((cli.state_dir / "runs").iterdir())
    french_failure = json.loads((folders[0] / "failure.json").read_text(encoding="utf-8"))
    assert french_failure["error"] == failure["error"]
    assert french_failure["step"] == failure["step"] == "login"
    records = history(cli.state_dir)
    assert [r["detail"] for r in records] == [failure["error"]] * 2
    assert records[0]["outcome"] == records[1]["outcome"] == "failed"


def test_check_in_french_dates_jj_mm_aaaa_paris_time(cli, portal, real_keyring):
    result = cli("check", "--structure", PAGE3_SIRET, **FRENCH)

    assert result.returncode == 3, result.output
    record = portal.state.structure(PAGE3_SIRET)
    assert f"  Expire le             : {record.expiry:%d/%m/%Y %H:%M:%S} (heure de Paris)" in (
        result.stdout
    )
    assert "EXPIRE BIENTÔT (dans moins de 30 jours)" in result.stdout
    assert_french(result.output)


def test_status_in_french_and_its_json_identical_in_both(cli, portal, real_keyring):
    french = cli("status", **FRENCH)
    french_json = cli("status", "--json", **FRENCH)
    english_json = cli("status", "--json", **ENGLISH)

    assert french.returncode == french_json.returncode == english_json.returncode == 4
    assert french.stdout.splitlines()[0].split() == [
        "SIRET",
        "Utilisateur",
        "technique",
        "Expire",
        "(Paris)",
        "Jours",
        "Résultat",
    ]
    assert "expiré" in french.stdout and "expire bientôt" in french.stdout
    assert "[14/?] " in french.stderr and " lue" in french.stderr
    assert_french(french.output)
    assert json.loads(french_json.stdout) == json.loads(english_json.stdout)


def test_reset_in_french_and_the_keyring_names_and_history_unchanged(cli, portal, real_keyring):
    result = cli("reset", "--structure", PAGE3_SIRET, **FRENCH)

    assert result.returncode == 0, result.output
    assert (
        f"  Nouveau mot de passe rangé dans le trousseau : service "
        f"'chorus-bot/technical/{PAGE3_SIRET}'"
    ) in result.stdout
    assert_french(result.output)
    (record,) = history(cli.state_dir)
    assert (record["action"], record["outcome"], record["exit_code"]) == ("reset", "reset", 0)


def _text_of(html_page: str) -> str:
    """What a person reads in report.html: its text, without tags, styles or images."""
    body = re.sub(r"<style>.*?</style>", " ", html_page, flags=re.DOTALL)
    alts = " ".join(re.findall(r'alt="([^"]*)"', body))
    body = re.sub(r"<pre>.*?</pre>", " ", body, flags=re.DOTALL)  # the page's own words
    body = re.sub(r"<code>.*?</code>", " ", body)  # step names, `[texts]` keys, URLs
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + alts)


def test_doctor_in_french_its_step_table_and_its_report(tmp_path, make_portal, real_keyring):
    # A renamed button: the table shows found, not asked, not needed... and not found lines.
    portal = make_portal(reset_label="Régénérer le mot de passe du compte technique")
    cli = Cli(home=tmp_path, portal_url=portal.url)

    french = cli("doctor", "--structure", PAGE3_SIRET, **FRENCH)
    english = cli("doctor", "--structure", PAGE3_SIRET, **ENGLISH)

    assert french.returncode == english.returncode == 1, french.output
    steps = {step.name for step in planned_steps(DEFAULT_TEXTS)}
    lines = {
        name: line
        for line in french.stdout.splitlines()
        for name in steps.intersection(line.split()[:3])
    }
    assert set(lines) == steps, french.stdout
    assert lines["login_password"].startswith("trouvé "), lines["login_password"]
    assert lines["second_factor_code"].startswith("non demandé "), lines["second_factor_code"]
    assert lines["reset_button"].startswith("INTROUVABLE "), lines["reset_button"]
    assert "cherché : un bouton `Réinitialiser" in lines["reset_button"]
    assert "vue(s) sur 3 page(s), 14 annoncée(s)" in lines["structures_list"]
    assert "expire le " in lines["expiry"] and "(heure de Paris)" in lines["expiry"]
    # Step names are the `[texts]` keys a user types in the config file: identifiers.
    # Taken out where they stand as such: the table's second column, after `[texts]`, and in
    # the list of steps not found.
    names = "|".join(steps)
    assert_french(
        re.sub(rf"(?:\[texts\] |: )?\b({names})(?=  |\)|$)", " ", french.output, flags=re.M)
    )
    # The English run is English: the catalog is not applied to it.
    assert re.search(r"^NOT FOUND +reset_button +looked for a button", english.stdout, re.M)

    (report,) = re.findall(r"^Rapport : (.+)$", french.stdout, re.MULTILINE)
    page = Path(report).read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    assert "Lecture seule : rien n'a été modifié sur le portail." in html.unescape(page)
    assert '<td class="not-found">introuvable</td>' in page  # the CSS class stays English
    assert re.search(r"Exécution du \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(heure de Paris\)", page)
    assert_french(re.sub(r"\[texts\] \w+", " ", _text_of(page)))


def test_every_log_line_a_person_sees_goes_through_the_catalog():
    # INFO and above are printed at the default verbosity: a plain English literal there would
    # leak into the French interface. DEBUG (-v) is for developers and stays English.
    import ast

    plain = []
    for folder in ("bot", "flows"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("info", "success", "warning", "error")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "logger"
                    and node.args
                    and isinstance(node.args[0], ast.JoinedStr | ast.Constant)
                    and not (isinstance(node.args[0], ast.Constant) and node.args[0].value == "{}")
                ):
                    plain.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not plain, "wrap these log texts in _(): " + ", ".join(plain)
