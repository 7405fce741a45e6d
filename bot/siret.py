"""SIRET checks made before any browser starts."""

from __future__ import annotations

import re

from stdnum.fr import siret as stdnum_siret

from bot.errors import InvalidSiret


def parse_siret(raw: str) -> str:
    """14 digits once spaces are removed, with a valid checksum (La Poste's own rule included)."""
    compact = re.sub(r"[\s\u00a0.\-]", "", raw)
    if compact and not compact.isdigit():
        raise InvalidSiret(
            f"SIRET {raw!r} must contain only digits", hint="give the 14 digits of the structure"
        )
    if len(compact) != 14:
        raise InvalidSiret(
            f"SIRET {raw!r} has {len(compact)} digits, not 14",
            hint="give the 14 digits of the structure (SIREN + NIC)",
        )
    if not stdnum_siret.is_valid(compact):
        raise InvalidSiret(
            f"SIRET {compact} has an invalid checksum",
            hint="check for a mistyped digit (it is on the `Mes structures` page)",
        )
    return compact
