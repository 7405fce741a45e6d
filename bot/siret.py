"""SIRET checks made before any browser starts."""

from __future__ import annotations

import re

from stdnum.fr import siret as stdnum_siret

from bot.errors import InvalidSiret
from bot.i18n import T


def parse_siret(raw: str) -> str:
    """14 digits once spaces are removed, with a valid checksum (La Poste's own rule included)."""
    compact = re.sub(r"[\s\u00a0.\-]", "", raw)
    if compact and not compact.isdigit():
        raise InvalidSiret(
            T("SIRET {raw!r} must contain only digits", raw=raw),
            hint=T("give the 14 digits of the structure"),
        )
    if len(compact) != 14:
        raise InvalidSiret(
            T("SIRET {raw!r} has {count} digits, not 14", raw=raw, count=len(compact)),
            hint=T("give the 14 digits of the structure (SIREN + NIC)"),
        )
    if not stdnum_siret.is_valid(compact):
        raise InvalidSiret(
            T("SIRET {compact} has an invalid checksum", compact=compact),
            hint=T("check for a mistyped digit (it is on the `Mes structures` page)"),
        )
    return compact
