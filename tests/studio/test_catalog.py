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


# -- the runtime's codes ------------------------------------------------------------------------
def _served_codes(tmp_path: Path) -> list[dict[str, object]]:
    """`GET /api/error-codes` of a real runtime: the list the studio has to cover."""
    from litestar.testing import TestClient

    from runtime.app import create_app
    from runtime.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "data", jwt_secret="c" * 40), background=False)
    with TestClient(app=app) as client:
        answer = client.get("/api/error-codes")
        assert answer.status_code == 200
        return answer.json()  # type: ignore[no-any-return]


def test_every_code_the_runtime_can_send_has_a_text_in_both_languages(tmp_path: Path) -> None:
    """Issue 11: the list of codes comes from the runtime, and the studio says each of them,
    naming only the code's parameters (a text with another placeholder would show a gap)."""
    served = _served_codes(tmp_path)
    assert len(served) > 200
    missing, wrong = [], []
    for entry in served:
        code, params = str(entry["code"]), {str(name) for name in entry["params"]}  # type: ignore[attr-defined]
        keys = [f"error.{code}"] if not entry["reasons"] else []
        keys += [f"error.{code}.{reason}" for reason in entry["reasons"]]  # type: ignore[attr-defined]
        for key in keys:
            for texts in (de.TEXTS, en.TEXTS):
                if key not in texts:
                    missing.append(key)
                elif _placeholders(texts[key]) - params - {"checked"}:
                    wrong.append(f"{key}: {sorted(_placeholders(texts[key]) - params)}")
    assert missing == []
    assert wrong == []
