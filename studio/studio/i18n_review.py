"""Texts of the version diff (review and versions pages) and of what a version uses, German
and English (merged into `i18n.TEXTS`; see there), and German titles of config fields that
`i18n.FIELDS_DE` does not name or names for another node type."""

from __future__ import annotations

REVIEW_TEXTS: dict[str, tuple[str, str]] = {
    # The canvas of the changes
    "diff_canvas_title": ("Änderungen auf einen Blick", "Changes at a glance"),
    "diff_canvas_hint": (
        "Klicken Sie auf einen Baustein, um zu seinen Änderungen zu springen.",
        "Click a block to jump to its changes.",
    ),
    "diff_status_added": ("neu", "added"),
    "diff_status_changed": ("geändert", "changed"),
    "diff_status_removed": ("entfernt", "removed"),
    "diff_status_unchanged": ("unverändert", "unchanged"),
    # Changes per block
    "diff_blocks_title": ("Änderungen an den Bausteinen", "Changes to the blocks"),
    "diff_blocks_none": (
        "Kein Baustein ist neu, geändert oder entfernt.",
        "No block was added, changed or removed.",
    ),
    "diff_field_node_title": ("Bezeichnung des Bausteins", "Title of the block"),
    "diff_field_node_type": ("Bausteintyp", "Block type"),
    "diff_before": ("vorher", "before"),
    "diff_after": ("nachher", "after"),
    "diff_empty_value": ("(leer)", "(empty)"),
    "diff_more_title": ("Weitere Änderungen", "Further changes"),
    "diff_links": ("Verknüpfungen der Bausteine", "Links between blocks"),
    "diff_branch": ("Zweig", "branch"),
    "diff_meta_name": ("Name", "Name"),
    "diff_meta_description": ("Beschreibung", "Description"),
    "diff_meta_audience": ("Weitere Arbeitsbereiche", "Further workspaces"),
    "diff_input": ("Eingabe", "Input"),
    "diff_output": ("Ergebnis", "Output"),
    # The card
    "review_card_title": ("Dokumentation (Karte)", "Documentation (card)"),
    "review_card_purpose": ("Zweck", "Purpose"),
    "review_card_data_sources": ("Datenquellen", "Data sources"),
    "review_card_risk": ("Risiko", "Risk"),
    "review_card_owner": ("Verantwortlich", "Owner"),
    "review_card_thresholds": ("Schwellenwerte", "Thresholds"),
    "review_card_limitations": ("Grenzen", "Limitations"),
    "review_card_empty": ("Die Karte ist leer.", "The card is empty."),
    # What a version uses
    "uses_title": ("Was diese Version nutzt", "What this version uses"),
    "uses_connections_title": ("Verbindungen zu anderen Systemen", "Connections to other systems"),
    "uses_indexes_title": ("Wissensindizes", "Knowledge indexes"),
    "uses_models_title": ("Sprachmodelle", "Language models"),
    "uses_name": ("Name", "Name"),
    "uses_kind": ("Art", "Kind"),
    "uses_host": ("Ziel", "Host"),
    "uses_actions": ("Aktionen", "Actions"),
    "uses_effects": ("Wirkung", "Effect"),
    "uses_side_effects": ("ändert Daten", "changes data"),
    "uses_reads_only": ("liest nur", "reads only"),
    "uses_production": ("berührt Produktion", "touches production"),
    "uses_test_target": ("Testziel", "Test target"),
    "uses_test_target_yes": ("vorhanden", "set up"),
    "uses_test_target_no": (
        "keins – Testläufe dürfen nichts ändern",
        "none – test runs may not change anything",
    ),
    "uses_missing": ("fehlt im Arbeitsbereich", "missing in the workspace"),
    "uses_nodes": ("Bausteine", "Blocks"),
    "uses_documents": ("Dokumente", "Documents"),
    "uses_backend": ("Speicher", "Store"),
    "uses_served_model": ("Modell", "Model"),
    "uses_none": ("Keine.", "None."),
    "uses_unavailable": ("Konnte nicht geladen werden.", "Could not be loaded."),
}

# German titles of config fields by (node type, field), before `i18n.FIELDS_DE` (by field
# name only: its "query" is the knowledge search's, its "instructions" the router's).
FIELDS_BY_TYPE_DE: dict[tuple[str, str], str] = {
    ("connector", "method"): "HTTP-Methode",
    ("connector", "path"): "Pfad",
    ("connector", "query"): "Abfrageparameter",
    ("connector", "headers"): "Zusätzliche Kopfzeilen",
    ("connector", "body"): "Inhalt der Anfrage",
    ("connector", "select"): "Felder aus der Antwort",
    ("connector", "fail_on_error"): "Bei HTTP-Fehler abbrechen",
    ("connector", "to"): "Empfänger",
    ("connector", "cc"): "Kopie an",
    ("connector", "subject"): "Betreff",
    ("connector", "text"): "Nachrichtentext",
    ("connector", "sql"): "SQL-Abfrage",
    ("connector", "params"): "Parameterwerte",
    ("connector", "param_types"): "Parametertypen",
    ("connector", "max_rows"): "Höchstzahl Zeilen",
    ("approval", "instructions"): "Hinweise für die Entscheider",
}
# Fields every node type may have, in German.
COMMON_FIELDS_DE: dict[str, str] = {"timeout_s": "Zeitlimit (Sekunden)"}
