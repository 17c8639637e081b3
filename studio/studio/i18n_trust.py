"""Labels of what end users read in the chat (outputs, sources, the inputs form) and of the
inputs panel, German and English (merged into `i18n.TEXTS`; see there)."""

from __future__ import annotations

TRUST_TEXTS: dict[str, tuple[str, str]] = {
    "image_blocked": ("Bild blockiert", "Image blocked"),
    "answer_preview": ("Vorschau, die Antwort entsteht …", "Preview, the answer is being written …"),
    "open_passage": ("Textstelle öffnen", "Open passage"),
    "passage_title": ("Textstelle", "Passage"),
    "passage_from": ("aus", "from"),
    "passage_one": ("Textstelle", "passage"),
    "passages_count": ("Textstellen", "passages"),
    "required_mark": ("Pflichtangabe", "Required"),
    "choose_value": ("Bitte wählen …", "Please choose …"),
    "input_json_hint": ('Als JSON, z. B. {"a": 1}', 'As JSON, e.g. {"a": 1}'),
    "input_not_a_choice": (
        "„{label}“: Bitte einen der angebotenen Werte wählen.",
        "“{label}”: please choose one of the offered values.",
    ),
    "input_not_a_number": ("„{label}“: Bitte eine Zahl eingeben.", "“{label}”: please enter a number."),
    "input_not_an_integer": (
        "„{label}“: Bitte eine ganze Zahl eingeben.",
        "“{label}”: please enter a whole number.",
    ),
    "input_not_json": ("„{label}“: Bitte gültiges JSON eingeben.", "“{label}”: please enter valid JSON."),
    # The editor's inputs panel
    "input_details": ("Angaben zum Eingabefeld", "Input field details"),
    "input_title": ("Titel (für Nutzende)", "Title (shown to users)"),
    "input_description": ("Beschreibung / Hinweis", "Description / hint"),
    "input_type": ("Typ", "Type"),
    "input_choices": (
        "Auswahlwerte (einer pro Zeile; leer: freie Eingabe)",
        "Choices (one per line; empty: free input)",
    ),
    "input_default": ("Vorgabewert (leer: keiner)", "Default (empty: none)"),
    "input_type_string": ("Text", "Text"),
    "input_type_number": ("Zahl", "Number"),
    "input_type_integer": ("Ganze Zahl", "Whole number"),
    "input_type_boolean": ("Ja/Nein", "Yes/No"),
    "input_type_object": ("Objekt (JSON)", "Object (JSON)"),
    "input_type_array": ("Liste (JSON)", "List (JSON)"),
}

TRUST_ERRORS: dict[str, tuple[str, str]] = {
    "payload_mismatch": (
        "Der geänderte Inhalt passt nicht zu dieser Aufgabe (Felder und Art müssen gleich bleiben). Bitte laden Sie die Aufgaben neu.",
        "The edited content does not fit this task (fields and kinds must stay the same). Please reload the tasks.",
    ),
    "payload_too_large": (
        "Der geänderte Inhalt ist zu groß.",
        "The edited content is too large.",
    ),
}
