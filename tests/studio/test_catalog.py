"""The studio's text catalogs: one per language, the same keys, the same placeholders."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.locales import de, en

from studio import i18n

# `{name}`, but not the `{{ inputs.name }}` of a flow template shown as an example
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[:!][^}]*)?\}(?!\})")


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_every_key_exists_in_both_languages() -> None:
    assert sorted(set(de.TEXTS) - set(en.TEXTS)) == []
    assert sorted(set(en.TEXTS) - set(de.TEXTS)) == []


def test_a_key_has_the_same_placeholders_in_both_languages() -> None:
    differ = {
        key: (_placeholders(de.TEXTS[key]), _placeholders(en.TEXTS[key]))
        for key in de.TEXTS
        if _placeholders(de.TEXTS[key]) != _placeholders(en.TEXTS[key])
    }
    assert differ == {}


def test_a_text_is_empty_in_both_languages_or_in_neither() -> None:
    for key in de.TEXTS:
        assert bool(de.TEXTS[key].strip()) == bool(en.TEXTS[key].strip()), key


def test_the_api_reads_the_catalog_of_the_chosen_language() -> None:
    assert i18n.translate("sign_in", "de") == "Anmelden"
    assert i18n.translate("sign_in", "en") == "Sign in"
    assert i18n.translate("welcome", "en", name="Ada") == "Welcome, Ada!"
    assert i18n.text_pair("sign_in") == ("Anmelden", "Sign in")
    # An unknown key shows itself (a developer sees the slip) instead of failing the page.
    assert i18n.translate("no_such_key", "de") == "no_such_key"
