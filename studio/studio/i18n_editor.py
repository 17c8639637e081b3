"""The editor's working copy, history and canvas tools, in German and English (see `i18n`)."""

from __future__ import annotations

WORKING_COPY_TEXTS: dict[str, tuple[str, str]] = {
    # -- autosave of the working copy --------------------------------------------------------
    "wc_saved": ("Gespeichert", "Saved"),
    "wc_pending": ("Änderungen werden gespeichert …", "Saving changes …"),
    "wc_conflict": ("Konflikt: in einem anderen Tab geändert", "Conflict: changed in another tab"),
    "wc_conflict_short": ("Konflikt", "Conflict"),
    "draft_changed_hint": (
        "Die Arbeitskopie wurde inzwischen anderswo gespeichert. „Neu laden“ übernimmt die dortige "
        "Fassung (Ihre bleibt mit „Rückgängig“ erreichbar); „Meine Fassung speichern“ überschreibt sie.",
        "The working copy was saved elsewhere in the meantime. “Reload” takes that version (yours "
        "stays reachable with “Undo”); “Save my version” overwrites it.",
    ),
    "wc_take_theirs": ("Neu laden (deren Fassung)", "Reload (their version)"),
    "wc_keep_mine": ("Meine Fassung speichern", "Save my version"),
    "wc_failed": ("Speichern fehlgeschlagen", "Saving failed"),
    "wc_retry": ("Erneut versuchen", "Try again"),
    "wc_reloaded": (
        "Arbeitskopie neu geladen; „Rückgängig“ holt Ihre Fassung zurück.",
        "Working copy reloaded; “Undo” brings your version back.",
    ),
    "wc_changed_since": ("geändert seit Version {n}", "changed since version {n}"),
    "wc_leave_confirm": (
        "Ihre letzten Änderungen sind noch nicht gespeichert. Seite trotzdem verlassen?",
        "Your latest changes are not saved yet. Leave the page anyway?",
    ),
    # -- cutting a version ---------------------------------------------------------------------
    "cut_version": ("Version erstellen", "Create version"),
    "cut_done": ("Version {n} erstellt.", "Version {n} created."),
    "cut_unchanged": (
        "Keine inhaltliche Änderung – Version {n} ist aktuell.",
        "No change of content – version {n} is current.",
    ),
    "cut_why_invalid": (
        "Erst wenn alle Probleme behoben sind, kann eine Version erstellt werden.",
        "A version can be created once every problem is solved.",
    ),
    "cut_why_unchanged": (
        "Die Arbeitskopie entspricht Version {n}; es gibt nichts Neues zu versionieren.",
        "The working copy equals version {n}; there is nothing new to version.",
    ),
    "cut_why_read_only": ("Sie dürfen diesen Flow nicht bearbeiten.", "You may not edit this flow."),
    "test_cuts_first": (
        "Der Test läuft mit einer Version; geänderte Arbeitskopien werden vorher als Version erstellt.",
        "The test runs a version; a changed working copy is made a version first.",
    ),
    "case_saved_draft": (
        "Testfall „{name}“ in der Arbeitskopie gespeichert.",
        "Test case “{name}” saved in the working copy.",
    ),
    "case_deleted_draft": (
        "Testfall „{name}“ aus der Arbeitskopie gelöscht.",
        "Test case “{name}” deleted from the working copy.",
    ),
    # -- history and canvas tools -----------------------------------------------------------
    "undo": ("Rückgängig (Strg+Z)", "Undo (Ctrl+Z)"),
    "redo": ("Wiederholen (Strg+Umschalt+Z)", "Redo (Ctrl+Shift+Z)"),
    "copy_nodes": ("Kopieren (Strg+C)", "Copy (Ctrl+C)"),
    "paste_nodes": ("Einfügen (Strg+V)", "Paste (Ctrl+V)"),
    "auto_layout": ("Automatisch anordnen", "Arrange automatically"),
    "minimap_toggle": ("Übersichtskarte", "Overview map"),
    "copied_nodes": ("{n} Baustein(e) kopiert.", "{n} block(s) copied."),
    "pasted_nodes": ("{n} Baustein(e) eingefügt.", "{n} block(s) pasted."),
    "palette_search": ("Bausteine suchen …", "Search blocks …"),
    "palette_nothing": ("Kein Baustein passt zur Suche.", "No block matches the search."),
}

WORKING_COPY_ERRORS: dict[str, tuple[str, str]] = {
    "draft_changed": (
        "Die Arbeitskopie wurde inzwischen in einem anderen Tab oder von jemand anderem geändert.",
        "The working copy was changed in another tab or by someone else in the meantime.",
    ),
    "if_match_required": (
        "Die Arbeitskopie kann nur mit ihrem aktuellen Stand (ETag) gespeichert werden.",
        "The working copy can only be saved with its current state (ETag).",
    ),
}
