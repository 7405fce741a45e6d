"""Finding things on a page the way a person does, whatever the markup calls them.

Every page object asks this module; nothing else in `flows/` builds raw locators. The rules,
from docs/perception.md (how PrimeFaces and Playwright really behave):

- A control is what a person can click and reads as X: a button or link named X, an element
  whose `title`, `aria-label` or image `alt` says X, an input whose value is X, or any element
  with `onclick`/`tabindex` whose visible text is X (JSF pagers are role-less spans). Exact
  names are preferred to names that merely contain the words.
- A field is found by its label however attached: `for`, a wrapping `<label>`,
  `aria-labelledby`, `aria-label`, a placeholder, or the text just before it (the cell before
  it in a JSF form table).
- A data table is the innermost `table`, `grid` or ARIA table whose own header row holds the
  header; rows and cells are read whatever role they declare, and never those of a table
  nested inside.
- Hidden things do not count: a closed PrimeFaces dialog is still in the DOM.
- PrimeFaces class contracts (`ui-state-disabled`) are only a last fallback after what a
  person perceives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce

from playwright.sync_api import ElementHandle, Locator, Page
from playwright.sync_api import Error as PlaywrightError

from bot.i18n import T
from flows.text import (
    containing,
    containing_any,
    digits_pattern,
    label_pattern,
    loose,
    loose_any,
    normalize,
)
from flows.texts import DEFAULT_TEXTS, Texts

# What a person can click, whatever role the markup declares (or forgets to declare).
CLICKABLE = (
    "a[href], button, input[type=submit], input[type=button], input[type=image], "
    "input[type=reset], [role=button], [role=link], [role=menuitem], [role=tab], "
    "[onclick], [tabindex]"
)
TABLES = "table, [role=table], [role=grid], [role=treegrid]"
HEADER_CELLS = "th, [role=columnheader], thead td, tr:first-child > td"
ROWS = "tr, [role=row]"
_CELLS = "td, [role=gridcell], [role=cell]"
FIELDS = (
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=image])"
    ":not([type=reset]):not([type=checkbox]):not([type=radio]), textarea, select"
)
DIALOGS = "[role=dialog], [role=alertdialog], dialog, .ui-dialog"
# What only selects an option, so that a button must then confirm the choice.
CHOICE_INPUTS = "input[type=radio], input[type=checkbox], [role=radio], [role=checkbox]"

# Runs in the page: is this control greyed out? `disabled`, `aria-disabled`, PrimeFaces'
# `ui-state-disabled` (its only sign before 15.x), or an <a> that leads nowhere.
_IS_DISABLED_JS = """el => {
  const control = el.closest('a, button, input, [role=button], [role=link], [onclick],'
    + ' [tabindex]') || el;
  for (let e = el; e; e = e.parentElement) {
    if (e.hasAttribute('disabled') || e.getAttribute('aria-disabled') === 'true') return true;
    if (/(^|\\s)ui-state-disabled(\\s|$)/.test(e.getAttribute('class') || '')) return true;
    if (e === control) break;
  }
  if (control.tagName === 'A' && !control.hasAttribute('href')
      && !control.hasAttribute('onclick') && !control.hasAttribute('tabindex')) return true;
  return false;
}"""

# Runs in the page: a row's controls a person sees, the outermost of nested ones (a span with
# `tabindex` inside a link is the link), not those of a row nested inside.
_ROW_CONTROLS_FN = """function rowControls(r, controls) {
  const found = Array.from(r.querySelectorAll(controls)).filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(e).visibility !== 'hidden'
      && e.closest('tr, [role=row]') === r;
  });
  return found.filter(e => !found.some(o => o !== e && o.contains(e)));
}"""

# Runs in the page: the row's only control when a person reads it as `named` (its text,
# `title`, `aria-label`, the `alt` of its image or its value); null otherwise, for the tiers
# of `control_in_row` to decide.
_NAMED_ONLY_CONTROL_JS = (
    "(r, a) => { "
    + _ROW_CONTROLS_FN
    + """ const outer = rowControls(r, a.controls);
  if (outer.length !== 1) return null;
  const e = outer[0];
  const re = new RegExp(a.named, 'i');
  const img = e.querySelector('img[alt]');
  const cues = [e.innerText, e.getAttribute('title'), e.getAttribute('aria-label'),
    img && img.getAttribute('alt'), e.tagName === 'INPUT' ? e.value : ''];
  return cues.some(c => c && re.test(c.replace(/[\\s\\u00a0\\u202f]+/g, ' '))) ? e : null;
}"""
)

# Runs in the page: in this table, the innermost row holding the number (however its digits are
# grouped), then that row's only control if a person reads it as `named`; null when unsure, for
# the slower look through tiers to decide.
_NAMED_CONTROL_IN_ROW_JS = (
    "(t, a) => { const named = "
    + _NAMED_ONLY_CONTROL_JS
    + """; const number = new RegExp(a.number);
  const text = e => (e.textContent || '').replace(/\\s+/g, ' ');
  const rows = Array.from(t.querySelectorAll('tr, [role=row]')).filter(r => number.test(text(r)));
  const row = rows.find(r => !rows.some(o => o !== r && r.contains(o)));
  return row ? named(row, a) : null;
}"""
)

# Runs in the page: the header and data rows of one table, skipping nested tables' rows.
# A PrimeFaces scrollable table keeps its header and body in two sibling tables: when the
# table holding the header has no data row, the next table after it in the same block is read.
_READ_TABLE_FN = """function readTable(table, controls) {
  const isTable = e => e.matches('table, [role=table], [role=grid], [role=treegrid]');
  const owner = e => { let p = e.parentElement; while (p && !isTable(p)) p = p.parentElement;
    return p; };
  const rowsOf = t => Array.from(t.querySelectorAll('tr, [role=row]')).filter(r => owner(r) === t);
  const cellsOf = (r, t) => Array.from(r.querySelectorAll(
      'th, td, [role=cell], [role=gridcell], [role=columnheader], [role=rowheader]'))
    .filter(c => owner(c) === t && c.closest('tr, [role=row]') === r);
  const isHeader = c => c.tagName === 'TH' || c.getAttribute('role') === 'columnheader'
    || c.closest('thead') !== null;
  const text = c => (c.innerText || c.textContent || '').replace(/\\s+/g, ' ').trim();
  const visible = r => !!(r.offsetWidth || r.offsetHeight || r.getClientRects().length);
  let rows = rowsOf(table).filter(visible);
  const allHeaders = r => { const c = cellsOf(r, table); return c.length && c.every(isHeader); };
  let headerRow = rows.find(allHeaders) || rows[0];
  const headers = headerRow ? cellsOf(headerRow, table).map(text) : [];
  let body = table;
  let data = rows.filter(r => r !== headerRow && cellsOf(r, table).some(c => !isHeader(c)));
  if (!data.length) {
    let block = table.parentElement;
    for (let up = 0; block && up < 4; block = block.parentElement, up++) {
      const after = Array.from(block.querySelectorAll('table, [role=table], [role=grid]'))
        .filter(t => t !== table && !table.contains(t) && !t.contains(table)
          && (table.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING));
      if (after.length) {
        body = after[0];
        data = rowsOf(body).filter(visible).filter(r => cellsOf(r, body).some(c => !isHeader(c)));
        break;
      }
    }
  }
  // With `controls` (the selector of what a person can click): where each row's only control
  // leads, null when it has none, 'several' when a name must tell them apart.
  const only = r => {
    const outer = rowControls(r, controls);
    if (outer.length > 1) return 'several';
    return outer.length ? targetOf(outer[0]) || 'several' : null;
  };
  return { headers, rows: data.map(r => cellsOf(r, body).map(text)),
    targets: controls ? data.map(only) : [] };
}"""

# Runs in the page: which table a reader means, as an index among all the page's tables. The
# candidates are the tables whose own header cells hold the header text, the innermost of
# nested ones (layout tables around the grid hold it too). With a section title on the page
# (its last occurrence: a menu link may carry the same words), the first candidate after it,
# or none (null); without one, the candidate whose headers hold most of the expected columns;
# -1 when there is no candidate yet. One script, not Playwright filters: `has`/`has_not`
# nested over every table cost ~50 ms a look on a JSF page of 200 elements.
_PICK_TABLE_JS = """(all, [cells, header, section, columns, shown]) => {
  const clean = s => (s || '').replace(/[\\s\\u00a0\\u202f]+/g, ' ').trim();
  const headerRe = new RegExp(header, 'i');
  const holding = all.filter(t => Array.from(t.querySelectorAll(cells))
    .some(c => headerRe.test(clean(c.textContent))));
  const tables = holding.filter(t => !holding.some(o => o !== t && t.contains(o)));
  const pick = () => {
    if (!tables.length) return -1;
    if (tables.length === 1 && !section) return 0;
    if (section) {
      const re = new RegExp(section, 'i');
      const titles = Array.from(document.body.querySelectorAll('*'))
        .filter(e => !tables.some(t => t.contains(e)))
        .filter(e => e.childElementCount === 0 || Array.from(e.children).every(c =>
          ['SPAN', 'B', 'STRONG', 'EM', 'I', 'SMALL'].includes(c.tagName)))
        .filter(e => { const t = clean(e.textContent); return t.length < 40 && re.test(t); })
        .filter(e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length));
      if (titles.length) {
        const title = titles[titles.length - 1];
        const after = tables.findIndex(t =>
          title.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
        return after < 0 ? null : after;
      }
    }
    const re = new RegExp(columns, 'i');
    const scores = tables.map(t => Array.from(t.querySelectorAll(cells))
      .filter(h => re.test(clean(h.textContent))).length);
    return scores.indexOf(Math.max(...scores));
  };
  const chosen = pick();
  if (chosen === null) return null;
  if (chosen < 0) return -1;
  const table = tables[chosen];
  // `shown`: -1 too while the table is not drawn yet.
  if (shown && !(table.offsetWidth || table.offsetHeight || table.getClientRects().length)) {
    return -1;
  }
  return all.indexOf(table);
}"""

# Runs in the page: the count a pager announces for this table, if any (`(12 ligne(s))`,
# `12 résultat(s)`, `1 - 5 sur 12`), looked for in the table's surroundings but not in the
# text of another data table.
_ANNOUNCED_JS = """(table, patterns) => {
  const tables = 'table, [role=table], [role=grid], [role=treegrid]';
  const isTable = e => e.matches(tables);
  const excluded = new Set();
  let block = table.parentElement;
  for (let up = 0; block && up < 5; block = block.parentElement, up++) {
    // Leave out every branch that holds another table, here and at every level below:
    // its count is not ours.
    Array.from(block.children).forEach(child => {
      if (!child.contains(table) && (isTable(child) || child.querySelector(tables))) {
        excluded.add(child);
      }
    });
    const originals = Array.from(block.querySelectorAll('*'));
    const copy = block.cloneNode(true);
    const copies = Array.from(copy.querySelectorAll('*'));
    originals.forEach((e, i) => { if (excluded.has(e)) copies[i].remove(); });
    // A page-size chooser's options (5 10 20 50) are not a count.
    copy.querySelectorAll('select, script, style').forEach(e => e.remove());
    const words = [];
    const walker = document.createTreeWalker(copy, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) words.push(walker.currentNode.nodeValue);
    const text = words.join(' ').replace(/[\\s\\u00a0\\u202f]+/g, ' ');
    for (const source of patterns) {
      const m = text.match(new RegExp(source, 'i'));
      if (m) return parseInt(m[1], 10);
    }
  }
  return null;
}"""
# Runs in the page: the value after a label. `inline`: `Label : value` in the element's own
# text. `next`: the element says only the label, the value is the next element (a cell, a
# field). `after`: the element ends with the label (`Votre nouveau mot de passe`), the value is
# the next element, provided that one does not repeat the label (a sentence that merely
# mentions the words, e.g. `Notez bien le nouveau mot de passe`, comes before the real line).
_VALUE_AFTER_JS = """(el, [sources, mode]) => {
  const clean = s => (s || '').replace(/[\\s\\u00a0\\u202f]+/g, ' ').trim()
    .replace(/[\u2019\u02bc`]/g, "'");
  const text = clean(el.innerText || el.textContent);
  for (const source of sources) {
    if (mode === 'inline') {
      const m = text.match(new RegExp(source + '[^:]*:\\\\s*(\\\\S+)', 'i'));
      if (m) return m[1];
      continue;
    }
    const whole = new RegExp('^' + source + '\\\\s*:?$', 'i');
    const ending = new RegExp(source + '\\\\s*:?$', 'i');
    if (!(mode === 'next' ? whole : ending).test(text)) continue;
    const next = el.nextElementSibling;
    if (!next) return null;
    if (next.matches('input, textarea')) return next.value.trim() || null;
    const value = clean(next.innerText);
    if (!value || new RegExp(source, 'i').test(value)) return null;
    return value;
  }
  return null;
}"""
# Runs in the page: each drop-down list with the label a person reads for it (`for`, a
# wrapping label, aria-labelledby, aria-label, else the nearest text before it), whether it is
# drawn, and its options. PrimeFaces hides the native list behind one of its own: the text
# before the hidden list is still its label.
_SELECTS_JS = """() => {
  const clean = s => (s || '').replace(/[\\s\\u00a0\\u202f]+/g, ' ').trim()
    .replace(/[\u2019\u02bc`]/g, "'");
  const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const before = sel => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let last = '';
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (sel.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) break;
      const parent = node.parentElement;
      if (!parent || parent.closest('select, script, style, option')) continue;
      if (clean(node.nodeValue)) last = clean(node.nodeValue);
    }
    return last;
  };
  // PrimeFaces paginators write `<select>…</select> lignes par page`: the words right after.
  const after = sel => {
    for (let node = sel.nextSibling; node; node = node.nextSibling) {
      if (node.nodeType === Node.TEXT_NODE && clean(node.nodeValue)) return clean(node.nodeValue);
      if (node.nodeType === Node.ELEMENT_NODE) return node.matches('label, span') ?
        clean(node.textContent) : '';
    }
    return '';
  };
  return Array.from(document.querySelectorAll('select')).map(sel => {
    let label = '';
    if (sel.getAttribute('aria-labelledby')) {
      label = sel.getAttribute('aria-labelledby').split(/\\s+/)
        .map(id => document.getElementById(id)).filter(Boolean).map(x => x.textContent).join(' ');
    }
    label = clean(label) || clean(sel.getAttribute('aria-label'))
      || (sel.labels && sel.labels.length ? clean(sel.labels[0].textContent) : '');
    const attached = !!label;
    return { label: label || before(sel), attached, after: after(sel), visible: visible(sel),
      options: Array.from(sel.options).map(o => ({
      text: clean(o.text), value: o.value, disabled: o.disabled, selected: o.selected })) };
  });
}"""
# What a list shows before anything is chosen: no value, or words asking to choose.
_PLACEHOLDER = re.compile(
    r"^(-+.*|\s*|choisi(r|ssez).*|s[ée]lectionn.*|veuillez.*|aucun.*)$", re.IGNORECASE
)

_COUNT_PATTERNS = (
    r"(\d+)\s*ligne(?:s|\(s\))?(?!\w|\s*par\s+page)",
    r"(\d+)\s*r[ée]sultat\(?s?\)?",
    r"\d+\s*[-à]\s*\d+\s*(?:sur|de|/)\s*(\d+)",
    r"(\d+)\s*[ée]l[ée]ment\(?s?\)?",
)

# Runs in the page: where a control leads, read as the browser would act on a click: a link's
# href, or the request its form would send with this control as the submitter. A control with
# its own script (onclick, a form's onsubmit, a `javascript:` or `#` link) may do anything
# else, so it is marked `scripted` and only ever clicked.
_TARGET_FN = """function targetOf(el) {
  const control = el.closest('a[href], button, input[type=submit], input[type=image],'
    + ' [role=button], [role=link], [onclick]') || el;
  const scripted = e => !!e && (e.hasAttribute('onclick') || e.hasAttribute('onsubmit'));
  const link = control.closest('a[href]');
  if (link) {
    const raw = (link.getAttribute('href') || '').trim();
    const dead = raw === '' || raw.startsWith('#') || /^javascript:/i.test(raw);
    return { url: link.href, method: 'get', fields: [], enctype: '',
      scripted: dead || scripted(control) || scripted(link) };
  }
  const form = control.form || null;
  const submits = control.matches('button:not([type]), button[type=submit], input[type=submit],'
    + ' input[type=image]');
  if (!form || !submits) return null;
  let data;
  try { data = new FormData(form, control); } catch (e) { data = new FormData(form); }
  const fields = [];
  for (const [name, value] of data.entries()) {
    if (typeof value === 'string') fields.push([name, value]);
  }
  const method = (form.getAttribute('method') || 'get').toLowerCase() === 'post' ? 'post' : 'get';
  const action = control.getAttribute('formaction') ? control.formAction : form.action;
  let url = action;
  if (method === 'get') {
    const u = new URL(action);
    u.search = new URLSearchParams(fields).toString();
    url = u.href;
  }
  return { url, method, fields: method === 'post' ? fields : [],
    enctype: form.enctype || 'application/x-www-form-urlencoded',
    scripted: scripted(control) || scripted(form) };
}"""
_TARGET_JS = "(el) => { " + _TARGET_FN + " return targetOf(el); }"
_READ_TABLE_JS = (
    "(table, controls) => { "
    + _TARGET_FN
    + _ROW_CONTROLS_FN
    + _READ_TABLE_FN
    + " return readTable(table, controls); }"
)
_READ_WITH_TARGETS_JS = (
    "(table, a) => { "
    + _TARGET_FN
    + _ROW_CONTROLS_FN
    + _READ_TABLE_FN
    + " const announced = "
    + _ANNOUNCED_JS
    + "; return { ...readTable(table, a.controls), announced: announced(table, a.patterns) }; }"
)

# Runs in the page: whether `Perception.field` could find anything here at all: some element
# whose text, `placeholder` or `aria-label` reads as the label (a label, a labelled-by element,
# the cell before a field), or, for a secret, a password input. Anything in a shadow root, which
# Playwright's engines see and this walk does not, answers yes: the full look decides.
_MAY_SHOW_FIELD_JS = """([sources, secret]) => {
  const patterns = sources.map(s => new RegExp(s, 'i'));
  const reads = v => !!v && patterns.some(re => re.test(v));
  if (secret && document.querySelector('input[type=password]')) return true;
  for (const e of document.querySelectorAll('*')) {
    if (e.shadowRoot) return true;
    if (reads(e.getAttribute('placeholder')) || reads(e.getAttribute('aria-label'))) return true;
    if (e.tagName !== 'SCRIPT' && e.tagName !== 'STYLE' && reads(e.textContent)) return true;
  }
  return false;
}"""

# Runs in the page: what a person would see there, for candidates.txt and `doctor`. Input
# values are never read: they may hold a password.
_INVENTORY_JS = """(root) => {
  const clean = s => (s || '').replace(/[\\s\\u00a0\\u202f]+/g, ' ').trim().slice(0, 120);
  const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const labelOf = e => {
    if (e.getAttribute('aria-labelledby')) {
      const t = e.getAttribute('aria-labelledby').split(/\\s+/)
        .map(id => document.getElementById(id)).filter(Boolean).map(x => x.textContent).join(' ');
      if (clean(t)) return clean(t);
    }
    if (e.getAttribute('aria-label')) return clean(e.getAttribute('aria-label'));
    if (e.labels && e.labels.length) return clean(e.labels[0].textContent);
    if (e.getAttribute('placeholder')) return clean(e.getAttribute('placeholder'));
    const cell = e.closest('td, th');
    if (cell && cell.previousElementSibling) return clean(cell.previousElementSibling.textContent);
    return '';
  };
  const out = { tables: [], controls: [], fields: [] };
  root.querySelectorAll('table, [role=table], [role=grid], [role=treegrid]').forEach(t => {
    if (!visible(t)) return;
    const heads = Array.from(t.querySelectorAll('th, [role=columnheader]'))
      .map(h => clean(h.textContent)).filter(Boolean);
    out.tables.push({ tag: t.tagName.toLowerCase(), role: t.getAttribute('role') || '',
      headers: heads.slice(0, 12), rows: t.querySelectorAll('tr, [role=row]').length });
  });
  root.querySelectorAll('a[href], button, input[type=submit], input[type=button],'
      + ' input[type=image], [role=button], [role=link], [role=menuitem], [onclick],'
      + ' [tabindex]').forEach(e => {
    if (!visible(e)) return;
    if (e.matches('input[type=text], input[type=password], textarea, select')) return;
    const img = e.querySelector('img[alt]');
    out.controls.push({ tag: e.tagName.toLowerCase(), role: e.getAttribute('role') || '',
      text: e.tagName === 'INPUT' && e.type !== 'image' ? '' : clean(e.innerText),
      title: clean(e.getAttribute('title')), label: clean(e.getAttribute('aria-label')),
      alt: clean(img ? img.getAttribute('alt') : e.getAttribute('alt')),
      value: e.tagName === 'INPUT' && ['submit', 'button'].includes(e.type)
        ? clean(e.value) : '' });
  });
  root.querySelectorAll('input:not([type=hidden]), textarea, select').forEach(e => {
    if (!visible(e) || ['submit', 'button', 'image'].includes(e.type)) return;
    out.fields.push({ tag: e.tagName.toLowerCase(), type: e.type || '', label: labelOf(e) });
  });
  return out;
}"""


# Runs in the page: `role "name"` of a match, as a person would name it. A field is named by
# its label however attached; a typed value is never read (only a submit button's caption).
_WHAT_JS = """e => {
  const clean = s => (s || '').replace(/[\\s\\u00a0\\u202f]+/g, ' ').trim().slice(0, 80);
  const field = e.matches('input, textarea, select');
  // A text inside a control is named as that control; a text elsewhere is itself.
  const c = field ? e : (e.closest('a, button, [role=button], [role=link], [role=menuitem],'
    + ' [role=tab], [onclick], [tabindex]') || e);
  let name = c.getAttribute('aria-label') || c.getAttribute('title') || '';
  if (!name && c.getAttribute('aria-labelledby')) {
    name = c.getAttribute('aria-labelledby').split(/\\s+/).map(id => document.getElementById(id))
      .filter(Boolean).map(x => x.textContent).join(' ');
  }
  if (!name && field) {
    const cell = c.closest('td, th');
    if (['submit', 'button', 'reset'].includes(c.type)) name = c.value;
    else if (c.type === 'image') name = c.getAttribute('alt');
    else if (c.labels && c.labels.length) name = c.labels[0].textContent;
    else if (c.getAttribute('placeholder')) name = c.getAttribute('placeholder');
    else if (cell && cell.previousElementSibling) name = cell.previousElementSibling.textContent;
  }
  if (!name && !field) name = c.innerText || c.textContent;
  const role = c.getAttribute('role')
    || (c.tagName === 'INPUT' ? `input[type=${c.type}]` : c.tagName.toLowerCase());
  return `${role} "${clean(name)}"`;
}"""


def is_disabled(control: Locator) -> bool:
    """Whether a person would see this control greyed out (see _IS_DISABLED_JS)."""
    return bool(control.evaluate(_IS_DISABLED_JS))


def click_if_attached(control: ElementHandle) -> bool:
    """Clicks an element found earlier; False when the page has drawn it again since."""
    try:
        control.click()
        return True
    except PlaywrightError as error:
        if "not attached" not in str(error):
            raise
        return False


def _union(locators: Iterable[Locator]) -> Locator:
    return reduce(lambda a, b: a.or_(b), locators)


def _patterns(words: Iterable[str], exact: bool) -> list[re.Pattern[str]]:
    return [loose(w) if exact else containing(w) for w in words]


@dataclass(frozen=True)
class Target:
    """Where a control leads: a URL to visit, or a form to post again from another tab."""

    url: str
    method: str  # "get" or "post"
    fields: tuple[tuple[str, str], ...] = ()  # what a post sends, the control's name included
    enctype: str = "application/x-www-form-urlencoded"
    scripted: bool = False  # the page's own script acts on the click: only a click will do

    @property
    def reusable(self) -> bool:
        """Whether another tab can go there without clicking (a URL, or a plain form post)."""
        return not self.scripted and self.url.startswith(("http://", "https://"))


# A row with several controls: only their names can tell which one opens the row.
SEVERAL = "several"


def _target(found: dict | None) -> Target | None:
    if not found:
        return None
    return Target(
        url=found["url"],
        method=found["method"],
        fields=tuple((name, value) for name, value in found["fields"]),
        enctype=found["enctype"] or "application/x-www-form-urlencoded",
        scripted=bool(found["scripted"]),
    )


@dataclass
class Perceived:
    """An element found by tiers of cues, best first. `union` waits for any of them."""

    tiers: list[Locator]
    description: str

    @property
    def union(self) -> Locator:
        return _union(self.tiers)

    def wait(self, timeout: float | None = None) -> None:
        self.union.first.wait_for(state="visible", timeout=timeout)

    def present(self) -> bool:
        return self.union.count() > 0

    def best(self) -> Locator:
        """The first tier that finds something (exact names before loose ones)."""
        union = self.union
        if union.count() == 1:  # the usual case, in one round trip
            return union.first
        return self._first_tier()

    def _first_tier(self) -> Locator:
        for tier in self.tiers:
            if tier.count():
                return tier.first
        return self.union.first

    def found(self) -> Locator | None:
        """`best`, or None when nothing matches: one query where `present` then `best`
        would make two."""
        union = self.union
        count = union.count()
        if count == 0:
            return None
        if count == 1:
            return union.first
        return self._first_tier()

    def click(self) -> None:
        self._act(lambda target: target.click())

    def is_disabled(self) -> bool:
        return is_disabled(self.best())

    def fill(self, value: str) -> None:
        self._act(lambda target: target.fill(value))

    def _act(self, act: Callable[[Locator], None]) -> None:
        """On the one element the tiers find (the usual case) in one round trip: the union in
        Playwright's strict mode acts when exactly one element matches, waiting for one if
        none does yet. When several match, the tiers decide which (exact names first)."""
        try:
            act(self.union)
            return
        except PlaywrightError as error:
            if "strict mode violation" not in str(error):
                raise
        act(self._first_tier())  # several are on screen: no need to count or wait again

    def value(self) -> str:
        return self.best().input_value()

    def inner_text(self) -> str:
        return normalize(self.best().inner_text())

    def picks_only(self) -> bool:
        """True when a click only selects (a radio button, a checkbox, or its label), so that
        a button must then confirm the choice."""
        return bool(self.best().evaluate(f"e => e.matches('{CHOICE_INPUTS}, label')"))

    def what(self) -> str:
        """Role and perceived name of the match, for `doctor` (never an input's value)."""
        return self.best().evaluate(_WHAT_JS)


@dataclass(frozen=True)
class Option:
    """One entry of a drop-down list, as a person reads it."""

    text: str
    value: str
    selected: bool = False

    @property
    def is_placeholder(self) -> bool:
        return not self.value.strip() or bool(_PLACEHOLDER.match(self.text))


class DropDown:
    """A `<select>` found by the label a person reads before it, looked up anew at each use:
    a POST-back form redraws the whole page after each choice."""

    def __init__(self, perception: Perception, key: str) -> None:
        self.perception = perception
        self.key = key
        self.description = perception.texts.describe(key)

    def _index(self) -> tuple[int, bool] | None:
        """(position among the page's lists, drawn?) of the best match, drawn lists first."""
        found = self.perception.page.evaluate(_SELECTS_JS)
        # The label however attached first; the words right after the list only when no
        # label says it (a list labelled otherwise is not this one).
        for cue in ("label", "after"):
            for group in self.perception._groups(self.key, None):
                for pattern in (loose_any(group), containing_any(group)):
                    matching = [
                        (index, item["visible"])
                        for index, item in enumerate(found)
                        if pattern.search(item[cue]) and (cue == "label" or not item["attached"])
                    ]
                    matching.sort(key=lambda match: not match[1])
                    if matching:
                        return matching[0]
        return None

    def present(self) -> bool:
        return self._index() is not None

    @property
    def locator(self) -> Locator:
        found = self._index()
        return self.perception.page.locator("select").nth(found[0] if found else 0)

    def options(self) -> list[Option]:
        """Every entry, placeholders included, in the order shown."""
        found = self._index()
        if found is None:
            return []
        data = self.perception.page.evaluate(_SELECTS_JS)[found[0]]
        return [Option(o["text"], o["value"], o["selected"]) for o in data["options"]]

    def choices(self) -> list[Option]:
        """The entries a person could pick: not the `-- Choisir --` line."""
        return [option for option in self.options() if not option.is_placeholder]

    def selected(self) -> Option | None:
        return next((o for o in self.options() if o.selected and not o.is_placeholder), None)

    def choose(self, pattern: re.Pattern[str]) -> Option | None:
        """Picks the first entry whose text matches, as a person would; None if there is none."""
        found = self._index()
        if found is None:
            return None
        for index, option in enumerate(self.options()):
            if not option.is_placeholder and pattern.search(option.text):
                # A list PrimeFaces hides behind its own still takes the choice (and fires
                # `change`, which its script listens to).
                self.locator.select_option(index=index, force=not found[1])
                return option
        return None


class Perception:
    """The one place that knows how to find controls, fields, texts and tables."""

    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.texts = texts

    # -- controls ---------------------------------------------------------------------

    def control(
        self, key: str, *, within: Locator | None = None, words: Iterable[str] | None = None
    ) -> Perceived:
        """Something to click that a person reads as one of the key's texts."""
        root = within if within is not None else self.page
        tiers: list[Locator] = []
        for group in self._groups(key, words):
            tiers += self._control_tiers(root, loose_any(group), exact=True)
        for group in self._groups(key, words):
            tiers += self._control_tiers(root, containing_any(group), exact=False)
        return Perceived([tier.filter(visible=True) for tier in tiers], self.texts.describe(key))

    def _groups(self, key: str, words: Iterable[str] | None) -> list[tuple[str, ...]]:
        """The user's `[texts]` words first, then the documented ones: two passes at most."""
        if words is not None:
            return [tuple(words)]
        override = tuple(self.texts.overrides.get(key, ()))
        documented = tuple(w for w in self.texts.words(key) if w not in override)
        return [group for group in (override, documented) if group]

    @staticmethod
    def _control_tiers(root: Page | Locator, name: re.Pattern[str], exact: bool) -> list[Locator]:
        by_role = _union(
            root.get_by_role(role, name=name) for role in ("button", "link", "menuitem", "tab")
        )
        clickable = root.locator(CLICKABLE)
        if not exact:
            # Loose names only on real controls: a paragraph that mentions the words is not one.
            return [by_role, clickable.filter(has_text=name)]
        return [
            by_role,
            # PrimeFaces icon-only buttons are named `ui-button`; only the title says what they do.
            # A click on the titled (or labelled, or pictured) element reaches its control.
            root.get_by_title(name).or_(root.get_by_label(name)).or_(root.get_by_alt_text(name)),
            clickable.filter(has_text=name),
        ]

    def choice(self, key: str) -> Perceived:
        """An option a person picks among others: a radio button or checkbox by its label, or
        a control naming it. PrimeFaces hides the radio and draws its own box: its label is
        what a person clicks."""
        page = self.page
        inputs = page.locator(CHOICE_INPUTS)
        tiers: list[Locator] = []
        for exact in (True, False):
            for group in self._groups(key, None):
                name = loose_any(group) if exact else containing_any(group)
                tiers += [
                    # The label first: PrimeFaces keeps the radio itself off screen, where a
                    # click cannot reach it, and a click on a label picks its radio anywhere.
                    page.locator("label").filter(has_text=name),
                    page.get_by_role("radio", name=name),
                    page.get_by_label(name).and_(inputs),
                ]
        tiers += self.control(key).tiers
        return Perceived([tier.filter(visible=True) for tier in tiers], self.texts.describe(key))

    # -- fields -----------------------------------------------------------------------

    def drop_down(self, key: str) -> DropDown:
        """A drop-down list a person finds by its label, however attached."""
        return DropDown(self, key)

    def field(self, key: str, *, secret: bool = False, exact: bool = True) -> Perceived:
        """An input a person finds by the label next to it, however the markup attaches it."""
        tiers: list[Locator] = []
        fields = self.page.locator(FIELDS)
        for group in self._groups(key, None):
            name = loose_any(group) if exact else containing_any(group)
            tiers += [
                self.page.get_by_label(name).and_(fields),
                self.page.get_by_placeholder(name),
                # The label in the cell (or element) just before the field.
                self.page.get_by_text(name).locator(
                    "xpath=following::*[self::input[not(@type='hidden') and not(@type='submit')"
                    " and not(@type='button') and not(@type='image') and not(@type='checkbox')"
                    " and not(@type='radio')] or self::textarea or self::select][1]"
                ),
            ]
        if secret:
            # The masked field is what a person recognises a password field by.
            tiers.append(self.page.locator("input[type=password]"))
        return Perceived([tier.filter(visible=True) for tier in tiers], self.texts.describe(key))

    def field_may_show(self, key: str, *, secret: bool = False, exact: bool = True) -> bool:
        """False only when `field` (same arguments) cannot find anything on the page as it is
        now: one quick script, for a question asked after every navigation (is this the
        login page?) on pages that almost never are."""
        sources = [
            (loose_any(group) if exact else containing_any(group)).pattern
            for group in self._groups(key, None)
        ]
        return bool(self.page.evaluate(_MAY_SHOW_FIELD_JS, [sources, secret]))

    def value_after(self, label: Perceived, words: Iterable[str]) -> str | None:
        """The value a person reads after a label: `Label : value`, or the next element.

        Every match is read inline first: a sentence mentioning the label's words before the
        real `Label : value` line must not hand over the line itself as the value.
        """
        sources = [label_pattern(word) for word in words]
        count = label.union.count()
        for mode in ("inline", "next", "after"):
            for index in range(count):
                value = label.union.nth(index).evaluate(_VALUE_AFTER_JS, [sources, mode])
                if value:
                    return value
        return None

    @staticmethod
    def masks_for(*found: Perceived) -> list[Locator]:
        """What a screenshot must cover: the elements and the value right after each."""
        masks: list[Locator] = []
        for item in found:
            masks += [item.union, item.union.locator("xpath=following-sibling::*[1]")]
        return masks

    # -- texts ------------------------------------------------------------------------

    def text(self, key: str, *, within: Locator | None = None) -> Perceived:
        """Visible words of the key, anywhere in an element's text."""
        root = within if within is not None else self.page
        tiers = [root.get_by_text(containing_any(group)) for group in self._groups(key, None)]
        return Perceived([tier.filter(visible=True) for tier in tiers], self.texts.describe(key))

    def words(self, words: Iterable[str] | re.Pattern[str]) -> Locator:
        """Visible text matching a pattern (e.g. a login error), for messages of unknown wording."""
        if isinstance(words, re.Pattern):
            return self.page.get_by_text(words).filter(visible=True)
        return _union(self.page.get_by_text(containing(w)) for w in words).filter(visible=True)

    def body_text(self) -> str:
        return self.page.locator("body").inner_text()

    def alert(self) -> Locator:
        return self.page.get_by_role("alert").filter(visible=True)

    # -- where controls lead ----------------------------------------------------------

    @staticmethod
    def target_of(control: Locator) -> Target | None:
        """What a click on this control would ask the portal for, read from the page itself
        (a link's href, or its form's action, method and fields); None when it has neither."""
        return _target(control.evaluate(_TARGET_JS))

    # -- dialogs ----------------------------------------------------------------------

    def open_dialog(self) -> Locator:
        """A dialog on screen: by role, or PrimeFaces' `ui-dialog` before its script adds one."""
        return self.page.locator(DIALOGS).filter(visible=True)

    # -- tables -----------------------------------------------------------------------

    def table(
        self, header_key: str, also: Iterable[str] = (), section_key: str | None = None
    ) -> DataTable:
        return DataTable(self, header_key, also, section_key)

    def inventory(self) -> dict:
        """Tables with their headers, controls and fields with their perceived names."""
        return self.page.locator("body").evaluate(_INVENTORY_JS)

    def candidates(self) -> str:
        """`inventory` as the text a user attaches to a support request (no input values)."""
        found = self.inventory()
        lines = [f"# What the bot perceives on {self.page.url} (input values are never read)"]
        lines.append(f"\n## Tables ({len(found['tables'])})")
        for table in found["tables"]:
            role = f" role={table['role']}" if table["role"] else ""
            lines.append(
                f"- <{table['tag']}{role}> {table['rows']} row(s), headers {table['headers']}"
            )
        lines.append(f"\n## Controls ({len(found['controls'])})")
        for control in found["controls"]:
            cues = [f"{cue}={control[cue]!r}" for cue in ("text", "title", "label", "alt", "value")]
            role = f" role={control['role']}" if control["role"] else ""
            lines.append(
                f"- <{control['tag']}{role}> " + " ".join(c for c in cues if "=''" not in c)
            )
        lines.append(f"\n## Fields ({len(found['fields'])})")
        for item in found["fields"]:
            lines.append(f"- <{item['tag']} type={item['type']}> label {item['label']!r}")
        lines.append(
            "\nKeys of the config file's [texts] table: "
            + ", ".join(self.texts.overrides or ["(none set)"])
        )
        return "\n".join(lines) + "\n"


class DataTable:
    """The innermost table whose own header row holds the key's header text.

    When several do (a `Demandes de rattachement` table may also have an `Identifiant
    structure` column), a reader takes the one under the section's title (`section_key`, when
    the page shows that title), else the one whose headers hold most of `also`. A title
    followed by no such table (an error banner in its place) means the table is not there.
    """

    def __init__(
        self,
        perception: Perception,
        header_key: str,
        also: Iterable[str] = (),
        section_key: str | None = None,
    ) -> None:
        self.perception = perception
        self.header_key = header_key
        self.also = tuple(also)
        self.section_key = section_key
        page = perception.page
        header = page.locator(HEADER_CELLS).filter(
            has_text=loose_any(perception.texts.words(header_key))
        )
        holding = page.locator(TABLES).filter(has=header)
        # Layout tables around it hold the header too: keep those with no such table inside.
        # For waits; a look at the page asks _pick, which finds the same ones faster.
        self.candidates = holding.filter(has_not=holding)
        self._tables = page.locator(TABLES)
        # Matches nothing: what `locator` is when the page has no such table.
        self._nothing = page.locator(TABLES).filter(has_text=re.compile(r"(?!)"))
        self.description = perception.texts.describe(header_key)

    @property
    def locator(self) -> Locator:
        found = self._pick()
        if found is None:
            return self._nothing
        if found < 0:  # no such table yet: a locator that a caller may still wait for
            return self.candidates.first
        return self._tables.nth(found)

    def _pick(self, *, shown: bool = False) -> int | None:
        """The index of the table a reader means among the page's tables; -1 when there is
        none yet (or, with `shown`, it is not drawn yet), None when the section's title is
        followed by none."""
        # One round trip: every step asks for the table again, on a page that may have changed.
        section = (
            containing_any(self.perception.texts.words(self.section_key)).pattern
            if self.section_key
            else None
        )
        header = loose_any(self.perception.texts.words(self.header_key)).pattern
        also = loose_any(self.also or ("(?!)",)).pattern
        return self._tables.evaluate_all(
            _PICK_TABLE_JS, [HEADER_CELLS, header, section, also, shown]
        )

    def wait(self, timeout: float | None = None) -> None:
        found = self._pick(shown=True)
        if found is not None and found >= 0:  # already on screen: one quick look
            return
        self.candidates.first.wait_for(state="visible", timeout=timeout)

    def what(self) -> str:
        """Role and column headers of the table found, for `doctor`; "" when there is none."""
        table = self.locator
        if not table.count():
            return ""
        role = table.evaluate("t => t.getAttribute('role') || t.tagName.toLowerCase()")
        headers, _ = self.read()
        return T("{role} with columns {columns}", role=role, columns=[h for h in headers if h])

    def present(self) -> bool:
        return self.locator.count() > 0

    def read(self) -> tuple[list[str], list[list[str]]]:
        """(header texts, each data row's cell texts), in one round trip to the page."""
        found = self._pick()
        if found is None or found < 0:
            return [], []
        data = self._tables.nth(found).evaluate(_READ_TABLE_JS, None)
        return [normalize(h) for h in data["headers"]], [
            [normalize(c) for c in row] for row in data["rows"]
        ]

    def read_with_targets(
        self,
    ) -> tuple[list[str], list[list[str]], list[Target | str | None], int | None]:
        """`read`, plus where each row's only control leads (see `target_of`) and the
        `announced_count`, in the same round trip. A target is None for a row without
        control, SEVERAL when it has more than one (then `control_in_row` finds the one named
        for what the row stands for)."""
        data = self.locator.evaluate(
            _READ_WITH_TARGETS_JS, {"controls": CLICKABLE, "patterns": list(_COUNT_PATTERNS)}
        )
        targets = [
            found if found in (None, SEVERAL) else _target(found) for found in data["targets"]
        ]
        headers = [normalize(h) for h in data["headers"]]
        rows = [[normalize(c) for c in row] for row in data["rows"]]
        return headers, rows, targets, data["announced"]

    def wait_for_more_rows(self, than: int) -> None:
        """Until a table of the header holds more than `than` data rows (rows with cells),
        through a navigation if the page draws them anew. Not the table `locator` picks: a
        pick made while the new page is half parsed would find none, for good."""
        page = self.perception.page
        more = page.locator(ROWS).filter(has=page.locator(_CELLS)).nth(than)
        self.candidates.filter(has=more).first.wait_for(state="attached")

    def row_with(self, number: str) -> Locator:
        """The table row holding this number (a SIRET), however the page groups its digits."""
        pattern = digits_pattern(number)
        table = self.locator
        rows = table.locator(ROWS).filter(has_text=pattern)
        # A row that holds a nested table holding the number is a layout row, not the one.
        innermost = rows.filter(has_not=table.locator(ROWS).filter(has_text=pattern))
        if innermost.count() or table.locator(_CELLS).count():
            return innermost
        # A PrimeFaces scrollable table keeps its rows in a sibling table of the header's.
        page_rows = self.perception.page.locator(ROWS).filter(has_text=pattern)
        return page_rows.filter(has_not=self.perception.page.locator(ROWS).filter(has_text=pattern))

    def named_control_in_row(self, number: str, key: str) -> ElementHandle | None:
        """The row's only control, when a person reads it as the key, found in one look at
        the table (the usual case), not one query per tier. None when that look cannot tell
        (no such table or row yet, several controls, a control named otherwise, rows kept
        in a sibling table): `control_in_row` then decides."""
        found = self._pick()
        if found is None or found < 0:
            return None
        named = containing_any(self.perception.texts.words(key)).pattern
        handle = self._tables.nth(found).evaluate_handle(
            _NAMED_CONTROL_IN_ROW_JS,
            {"controls": CLICKABLE, "named": named, "number": digits_pattern(number).pattern},
        )
        return handle.as_element()

    def click_in_row(self, number: str, key: str) -> None:
        """Clicks `control_in_row`: the `named_control_in_row` when there is one; a row drawn
        again meanwhile is looked at again through the tiers."""
        found = self.named_control_in_row(number, key)
        if found is not None and click_if_attached(found):
            return
        self.control_in_row(number, key).click()

    def control_in_row(self, number: str, key: str) -> Perceived:
        """The row's control that opens what the row stands for: named, or the row's only one."""
        row = self.row_with(number).first
        named = self.perception.control(key, within=row)
        return Perceived(
            [*named.tiers, row.locator(CLICKABLE).filter(visible=True)], named.description
        )

    def announced_count(self) -> int | None:
        """How many rows the page says the table has in all, when it says so."""
        return self.locator.evaluate(_ANNOUNCED_JS, list(_COUNT_PATTERNS))

    def pager_control(self, key: str) -> Perceived:
        """A pager control of this table: in the nearest block around it that has one."""
        anywhere = self.perception.control(key)
        if anywhere.union.count() <= 1:  # one pager on the page (or none): no need to look closer
            return anywhere
        table = self.locator
        for up in range(1, 6):
            block = table.locator(f"xpath=ancestor::*[{up}]")
            control = self.perception.control(key, within=block)
            if control.present():
                return control
        return self.perception.control(key)
