"""Every label and message of the studio, in German (default) and English.

`TEXTS[key] = (german, english)`. Pages render `t(key)` (`state.base.t`), a Var that
follows the language switch; event handlers call `translate(key, lang, **values)`.
Runtime errors become sentences with `describe_error`: known codes get a sentence of
their own, everything else the runtime's message behind a short lead-in.
"""

from __future__ import annotations

from typing import Any

from studio.i18n_editor import WORKING_COPY_ERRORS, WORKING_COPY_TEXTS
from studio.i18n_inbox import INBOX_ERRORS, INBOX_TEXTS
from studio.i18n_insight import AUDIT_TEXTS, MONITORING_TEXTS
from studio.i18n_models import MODEL_ERRORS, MODEL_TEXTS, no_model_sentence
from studio.i18n_operate import CONNECTION_TEXTS, FEEDBACK_TEXTS, KNOWLEDGE_TEXTS, OPERATE_ERRORS
from studio.i18n_review import REVIEW_TEXTS
from studio.i18n_runs import RUNS_ERRORS, RUNS_TEXTS
from studio.i18n_testcases import TESTCASE_ERRORS, TESTCASE_TEXTS
from studio.i18n_trust import TRUST_ERRORS, TRUST_TEXTS

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"

TEXTS: dict[str, tuple[str, str]] = {
    # -- app frame -------------------------------------------------------------------------
    "app_name": ("Dirigent", "Dirigent"),
    "tagline": ("KI-Assistenten bauen, freigeben, nutzen", "Build, approve and use AI assistants"),
    "nav_flows": ("Flows", "Flows"),
    "nav_review": ("Freigaben", "Review"),
    "nav_assistants": ("Assistenten", "Assistants"),
    "nav_tasks": ("Aufgaben", "Tasks"),
    "nav_knowledge": ("Wissen", "Knowledge"),
    "nav_connections": ("Verbindungen", "Connections"),
    "nav_monitoring": ("Monitoring", "Monitoring"),
    "nav_audit": ("Audit", "Audit"),
    "section_build": ("Bauen", "Build"),
    "section_use": ("Nutzen", "Use"),
    "section_govern": ("Steuern", "Govern"),
    "workspace": ("Arbeitsbereich", "Workspace"),
    "language": ("Sprache", "Language"),
    "sign_out": ("Abmelden", "Sign out"),
    "signed_in_as": ("Angemeldet als", "Signed in as"),
    "loading": ("Wird geladen …", "Loading …"),
    "not_found_title": ("Seite nicht gefunden", "Page not found"),
    "back_to_start": ("Zur Startseite", "Back to the start page"),
    "cancel": ("Abbrechen", "Cancel"),
    "close": ("Schließen", "Close"),
    "save": ("Speichern", "Save"),
    "delete": ("Löschen", "Delete"),
    "reload": ("Neu laden", "Reload"),
    "yes": ("Ja", "Yes"),
    "no": ("Nein", "No"),
    "none": ("keine", "none"),
    # -- sign-in ---------------------------------------------------------------------------
    "sign_in": ("Anmelden", "Sign in"),
    "sign_in_title": ("Bei Dirigent anmelden", "Sign in to Dirigent"),
    "username": ("Benutzername", "Username"),
    "password": ("Passwort", "Password"),
    "signing_in": ("Anmeldung läuft …", "Signing in …"),
    "sign_in_hint": (
        "Die Demo-Zugänge stehen in der Ausgabe von „dirigent up“ und in .dirigent/demo-passwords.txt.",
        "The demo logins are printed by `dirigent up` and kept in .dirigent/demo-passwords.txt.",
    ),
    "signed_out": ("Sie sind abgemeldet.", "You are signed out."),
    "session_expired": (
        "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.",
        "Your session has expired. Please sign in again.",
    ),
    "welcome": ("Willkommen, {name}!", "Welcome, {name}!"),
    # -- flows -----------------------------------------------------------------------------
    "flows_title": ("Flows", "Flows"),
    "flows_subtitle": (
        "Ihre Assistenten als Abläufe: bauen, testen, zur Freigabe einreichen.",
        "Your assistants as flows: build, test, submit for approval.",
    ),
    "new_flow": ("Neuer Flow", "New flow"),
    "new_flow_title": ("Neuen Flow anlegen", "Create a new flow"),
    "flow_name": ("Name", "Name"),
    "flow_slug": ("Kurzname (für Adressen)", "Short name (for addresses)"),
    "flow_slug_hint": (
        "Kleinbuchstaben, Ziffern und Bindestriche, z. B. angebots-assistent",
        "lower-case letters, digits and hyphens, e.g. offer-assistant",
    ),
    "start_from": ("Vorlage", "Start from"),
    "blank_flow": ("Leerer Flow (Eingabe → Ausgabe)", "Blank flow (input → output)"),
    "create": ("Anlegen", "Create"),
    "flow_created": ("Flow „{name}“ angelegt.", "Flow “{name}” created."),
    "no_flows": ("Noch keine Flows in diesem Arbeitsbereich.", "No flows in this workspace yet."),
    "no_flows_hint": (
        "Legen Sie einen neuen Flow an – am schnellsten aus einer Vorlage.",
        "Create a new flow – quickest from a template.",
    ),
    "col_name": ("Name", "Name"),
    "col_newest": ("Neueste Version", "Newest version"),
    "col_live": ("Live-Version", "Live version"),
    "col_actions": ("", ""),
    "not_live": ("nicht veröffentlicht", "not published"),
    "open_editor": ("Bearbeiten", "Edit"),
    "open_versions": ("Versionen", "Versions"),
    "version_n": ("Version {n}", "Version {n}"),
    "no_workspace": ("Sie gehören noch keinem Arbeitsbereich an.", "You belong to no workspace yet."),
    # -- states ----------------------------------------------------------------------------
    "state_draft": ("Entwurf", "Draft"),
    "state_submitted": ("Eingereicht", "Submitted"),
    "state_approved": ("Freigegeben", "Approved"),
    "state_published": ("Veröffentlicht", "Published"),
    "state_retired": ("Zurückgezogen", "Retired"),
    "state_rejected": ("Abgelehnt", "Rejected"),
    # -- editor ----------------------------------------------------------------------------
    "palette": ("Bausteine", "Building blocks"),
    "palette_hint": ("Ziehen Sie einen Baustein auf die Fläche.", "Drag a building block onto the canvas."),
    "cat_flow": ("Ablauf", "Flow"),
    "cat_ai": ("KI", "AI"),
    "cat_logic": ("Logik", "Logic"),
    "cat_human": ("Mensch", "Human"),
    "cat_connector": ("Verbindungen", "Connections"),
    "tab_node": ("Baustein", "Block"),
    "tab_flow": ("Flow", "Flow"),
    "tab_card": ("Dokumentation", "Documentation"),
    "tab_test": ("Testen", "Test"),
    "select_node_hint": (
        "Wählen Sie einen Baustein auf der Fläche aus, um ihn einzustellen.",
        "Select a block on the canvas to configure it.",
    ),
    "node_id": ("Kennung", "Id"),
    "node_title": ("Titel", "Title"),
    "node_no_config": ("Dieser Baustein braucht keine Einstellungen.", "This block needs no settings."),
    "delete_node": ("Baustein löschen", "Delete block"),
    "delete_key_hint": (
        "Tipp: Entf-Taste löscht den ausgewählten Baustein oder die Verbindung.",
        "Tip: the Delete key removes the selected block or connection.",
    ),
    "variables": ("Verfügbare Variablen (klicken zum Kopieren)", "Available variables (click to copy)"),
    "copied": ("In die Zwischenablage kopiert: {text}", "Copied to the clipboard: {text}"),
    "edge_when": ("Nur wenn (Zweig)", "Only when (branch)"),
    "edge_when_any": ("immer", "always"),
    "flow_description": ("Beschreibung", "Description"),
    "flow_inputs": ("Eingaben", "Inputs"),
    "flow_inputs_hint": (
        "Was Nutzer dem Assistenten geben; in Vorlagen als {{ inputs.name }}.",
        "What users give the assistant; in templates as {{ inputs.name }}.",
    ),
    "flow_outputs": ("Ergebnisse", "Outputs"),
    "flow_outputs_hint": (
        "Was der Assistent zurückgibt, z. B. {{ answer.text }}.",
        "What the assistant returns, e.g. {{ answer.text }}.",
    ),
    "add_input": ("Eingabe hinzufügen", "Add input"),
    "add_output": ("Ergebnis hinzufügen", "Add output"),
    "input_name": ("Name", "Name"),
    "input_required": ("Pflicht", "Required"),
    "output_name": ("Name", "Name"),
    "output_value": ("Wert", "Value"),
    "card_purpose": ("Zweck", "Purpose"),
    "card_purpose_hint": (
        "Wofür ist der Assistent da, wer nutzt ihn?",
        "What is the assistant for, who uses it?",
    ),
    "card_data_sources": ("Datenquellen (eine pro Zeile)", "Data sources (one per line)"),
    "card_risk": ("Risiko", "Risk"),
    "risk_minimal": ("minimal", "minimal"),
    "risk_limited": ("begrenzt", "limited"),
    "risk_high": ("hoch (zwei Freigaben nötig)", "high (two approvals needed)"),
    "card_owner": ("Verantwortlich", "Owner"),
    "card_thresholds": (
        "Schwellenwerte (name = Zahl, eine pro Zeile)",
        "Thresholds (name = number, one per line)",
    ),
    "card_limitations": ("Grenzen", "Limitations"),
    "save_version": ("Speichern", "Save"),
    "saving": ("Wird gespeichert …", "Saving …"),
    "saved_new_version": ("Version {n} gespeichert.", "Version {n} saved."),
    "saved_no_change": (
        "Keine inhaltliche Änderung – Version {n} bleibt aktuell (Anordnung gespeichert).",
        "No change of content – version {n} stays current (layout saved).",
    ),
    "unsaved_changes": ("Ungespeicherte Änderungen", "Unsaved changes"),
    "all_saved": ("Gespeichert", "Saved"),
    "valid": ("Gültig", "Valid"),
    "problems_one": ("Problem", "problem"),
    "problems_many": ("Probleme", "problems"),
    "problems_title": ("Probleme", "Problems"),
    "flow_level": ("Flow", "Flow"),
    "editor_read_only": (
        "Nur lesen: Sie dürfen diesen Flow nicht bearbeiten.",
        "Read only: you may not edit this flow.",
    ),
    "node_added": ("Baustein „{title}“ hinzugefügt.", "Block “{title}” added."),
    "edge_exists": ("Diese Verbindung gibt es schon.", "This connection exists already."),
    "edge_self": (
        "Ein Baustein kann nicht mit sich selbst verbunden werden.",
        "A block cannot connect to itself.",
    ),
    # -- test panel ------------------------------------------------------------------------
    "test_inputs": ("Eingaben für den Test", "Inputs for the test"),
    "run_test": ("Test starten", "Run test"),
    "running": ("Läuft …", "Running …"),
    "test_saves_first": (
        "Der Test läuft mit der gespeicherten Version; Änderungen werden vorher gespeichert.",
        "The test runs the saved version; changes are saved first.",
    ),
    "test_result": ("Ergebnis", "Result"),
    "test_steps": ("Schritte", "Steps"),
    "no_test_yet": (
        "Noch kein Testlauf. Geben Sie Eingaben ein und starten Sie den Test.",
        "No test run yet. Enter inputs and run the test.",
    ),
    "run_status_succeeded": ("erfolgreich", "succeeded"),
    "run_status_failed": ("fehlgeschlagen", "failed"),
    "run_status_waiting": ("wartet auf Freigabe", "waiting for approval"),
    "run_status_running": ("läuft", "running"),
    "run_status_cancelled": ("abgebrochen", "cancelled"),
    "run_status_expired": ("abgelaufen", "expired"),
    "run_status_skipped": ("übersprungen", "skipped"),
    "run_status_pending": ("wartet", "pending"),
    "tokens": ("Tokens", "tokens"),
    "step_failed_at": ("Fehler in „{node}“: {message}", "Error in “{node}”: {message}"),
    "waiting_notice": (
        "Der Lauf wartet auf eine Freigabe. Sobald jemand entschieden hat, geht es weiter.",
        "The run is waiting for an approval. It continues once someone has decided.",
    ),
    # -- versions --------------------------------------------------------------------------
    "versions_title": ("Versionen", "Versions"),
    "versions_subtitle": (
        "Jede gespeicherte Änderung ist eine Version; freigegeben wird genau eine Version.",
        "Every saved change is a version; the board approves exactly one version.",
    ),
    "col_version": ("Version", "Version"),
    "col_state": ("Status", "State"),
    "col_author": ("Autor", "Author"),
    "col_hash": ("Prüfsumme", "Hash"),
    "col_created": ("Erstellt", "Created"),
    "submit": ("Zur Freigabe einreichen", "Submit for approval"),
    "submitted_ok": ("Version {n} ist zur Freigabe eingereicht.", "Version {n} is submitted for approval."),
    "publish": ("Veröffentlichen", "Publish"),
    "published_ok": ("Version {n} ist jetzt live.", "Version {n} is live now."),
    "retire": ("Zurückziehen", "Retire"),
    "retired_ok": ("Version {n} ist zurückgezogen.", "Version {n} is retired."),
    "compare": ("Vergleichen", "Compare"),
    "compare_from": ("Von Version", "From version"),
    "compare_to": ("Zu Version", "To version"),
    "diff_title": ("Unterschiede", "Differences"),
    "diff_none": ("Keine inhaltlichen Unterschiede.", "No differences of content."),
    "diff_first": ("Erste Version – alles ist neu.", "First version – everything is new."),
    "diff_nodes_added": ("Neue Bausteine", "Blocks added"),
    "diff_nodes_removed": ("Entfernte Bausteine", "Blocks removed"),
    "diff_nodes_changed": ("Geänderte Bausteine", "Blocks changed"),
    "diff_edges": ("Verbindungen", "Connections"),
    "diff_card": ("Dokumentation", "Documentation"),
    "diff_other": ("Eingaben, Ergebnisse, Allgemeines", "Inputs, outputs, general"),
    "live_badge": ("live", "live"),
    "open_flow": ("Im Editor öffnen", "Open in editor"),
    # -- review ----------------------------------------------------------------------------
    "review_title": ("Freigaben", "Review"),
    "review_subtitle": (
        "Eingereichte Versionen prüfen: Unterschiede zur Live-Version, Dokumentation, Tests.",
        "Review submitted versions: differences to the live version, documentation, tests.",
    ),
    "review_empty": (
        "Nichts zu prüfen – keine Version wartet auf Freigabe.",
        "Nothing to review – no version is waiting for approval.",
    ),
    "review_comment": ("Kommentar", "Comment"),
    "review_comment_hint": ("Bei Ablehnung: Was muss sich ändern?", "When rejecting: what has to change?"),
    "approve": ("Freigeben", "Approve"),
    "reject": ("Ablehnen", "Reject"),
    "approved_ok": ("Version {n} von „{flow}“ freigegeben.", "Version {n} of “{flow}” approved."),
    "rejected_ok": ("Version {n} von „{flow}“ abgelehnt.", "Version {n} of “{flow}” rejected."),
    "four_eyes_author": (
        "Vier-Augen-Prinzip: Sie haben diese Version erstellt. Ein anderes Mitglied des Gremiums muss sie freigeben.",
        "Four eyes: you authored this version. Another board member must approve it.",
    ),
    "four_eyes_submitter": (
        "Vier-Augen-Prinzip: Sie haben diese Version eingereicht. Ein anderes Mitglied des Gremiums muss sie freigeben.",
        "Four eyes: you submitted this version. Another board member must approve it.",
    ),
    "already_reviewed": (
        "Sie haben diese Version in dieser Runde schon geprüft.",
        "You already reviewed this version in this round.",
    ),
    "not_board": ("Nur Mitglieder des Freigabegremiums können freigeben.", "Only board members can approve."),
    "submitted_by": ("Eingereicht von", "Submitted by"),
    "authored_by": ("Erstellt von", "Authored by"),
    "quorum": ("Benötigte Freigaben", "Approvals needed"),
    "reviews_so_far": ("Bisherige Prüfungen", "Reviews so far"),
    "uses_connections": ("Genutzte Verbindungen und Quellen", "Connections and sources used"),
    "comment_required": (
        "Bitte begründen Sie die Ablehnung im Kommentar.",
        "Please say in the comment why you reject it.",
    ),
    # -- assistants ------------------------------------------------------------------------
    "assistants_title": ("Assistenten", "Assistants"),
    "assistants_subtitle": ("Die für Sie freigegebenen Assistenten.", "The assistants published to you."),
    "assistants_empty": (
        "Für Sie ist noch kein Assistent veröffentlicht.",
        "No assistant is published to you yet.",
    ),
    "ask": ("Senden", "Send"),
    "your_message": ("Ihre Nachricht …", "Your message …"),
    "choose_assistant": ("Wählen Sie links einen Assistenten aus.", "Choose an assistant on the left."),
    "sources": ("Quellen", "Sources"),
    "page": ("Seite", "page"),
    "score": ("Treffer", "score"),
    "helpful": ("Hilfreich", "Helpful"),
    "not_helpful": ("Nicht hilfreich", "Not helpful"),
    "thanks_feedback": ("Danke für Ihre Rückmeldung!", "Thank you for your feedback!"),
    "more_inputs": ("Weitere Angaben", "More details"),
    # -- tasks -----------------------------------------------------------------------------
    "tasks_title": ("Aufgaben", "Tasks"),
    "tasks_subtitle": (
        "Freigaben, um die ein laufender Assistent Sie bittet.",
        "Approvals a running assistant asks you for.",
    ),
    "tasks_empty": ("Keine offenen Aufgaben.", "No open tasks."),
    "task_payload": ("Zu prüfender Inhalt", "Content to check"),
    "task_payload_editable": (
        "Sie dürfen den Inhalt vor der Freigabe ändern.",
        "You may edit the content before approving.",
    ),
    "task_from": ("Aus dem Assistenten", "From the assistant"),
    "task_decided": ("Entschieden. Der Lauf ist jetzt: {status}.", "Decided. The run is now: {status}."),
    "cannot_decide": (
        "Sie sehen diese Aufgabe, dürfen aber nicht entscheiden.",
        "You can see this task but may not decide it.",
    ),
    "instructions": ("Hinweise", "Instructions"),
    **TESTCASE_TEXTS,
    **KNOWLEDGE_TEXTS,
    **CONNECTION_TEXTS,
    **FEEDBACK_TEXTS,
    **MONITORING_TEXTS,
    **AUDIT_TEXTS,
    **TRUST_TEXTS,
    **WORKING_COPY_TEXTS,
    **INBOX_TEXTS,
    **REVIEW_TEXTS,
    **RUNS_TEXTS,
    **MODEL_TEXTS,
}

# Node types the runtime ships: title and one line for the palette. Types the runtime
# adds later show the runtime's own (English) title and description.
NODE_TYPES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "input": (
        ("Eingabe", "Input"),
        (
            "Start des Flows; liefert die Eingaben als {{ inputs.name }}.",
            "Start of the flow; provides the inputs as {{ inputs.name }}.",
        ),
    ),
    "output": (
        ("Ausgabe", "Output"),
        (
            "Ende des Flows; was zurückkommt, steht unter „Flow → Ergebnisse“.",
            "End of the flow; what is returned is set under “Flow → Outputs”.",
        ),
    ),
    "template": (
        ("Textvorlage", "Template"),
        (
            "Baut Text aus einer Vorlage, z. B. einen Prompt oder eine E-Mail.",
            "Builds text from a template, e.g. a prompt or an e-mail.",
        ),
    ),
    "llm": (
        ("Sprachmodell", "LLM"),
        (
            "Fragt das Sprachmodell: System- und Nutzer-Prompt rein, Text raus.",
            "Asks the language model: system and user prompt in, text out.",
        ),
    ),
    "retrieval": (
        ("Wissenssuche", "Knowledge search"),
        (
            "Findet passende Stellen in einem Wissensindex, mit Quellen.",
            "Finds passages in a knowledge index, with their sources.",
        ),
    ),
    "router": (
        ("Verzweigung", "Router"),
        (
            "Schickt den Lauf in einen Zweig: per Bedingung oder KI-Einordnung.",
            "Sends the run down one branch: by a condition or an AI classification.",
        ),
    ),
    "approval": (
        ("Freigabe", "Approval"),
        ("Hält an, bis ein Mensch freigibt oder ablehnt.", "Pauses until a person approves or rejects."),
    ),
    "connector": (
        ("Verbindung", "Connector"),
        (
            "Ruft ein angebundenes System auf (REST, E-Mail, SQL).",
            "Calls a connected system (REST, e-mail, SQL).",
        ),
    ),
}

# Config fields of the shipped node types in German: (title, description). English shows
# the runtime's own title and description from the JSON schema.
FIELDS_DE: dict[str, tuple[str, str]] = {
    "model": ("Modell", "Name eines registrierten Modell-Endpunkts"),
    "system": ("System-Prompt", "Rolle und Regeln für das Modell"),
    "prompt": ("Prompt", "Die Anfrage an das Modell, z. B. {{ inputs.question }}"),
    "temperature": ("Kreativität", "0 = immer gleich, höher = freier formuliert"),
    "max_tokens": ("Höchstlänge (Tokens)", "Längste Antwort in Tokens"),
    "json_schema": ("JSON-Schema", "Wenn gesetzt, muss die Antwort JSON nach diesem Schema sein"),
    "template": ("Vorlage", "Jinja2-Vorlage, z. B. Guten Tag, {{ inputs.name }}"),
    "index": ("Wissensindex", "Name eines Wissensindex dieses Arbeitsbereichs"),
    "query": ("Suchanfrage", "Wonach gesucht wird, z. B. {{ inputs.question }}"),
    "k": ("Anzahl Treffer", "Wie viele Textstellen höchstens"),
    "min_score": ("Mindestpunktzahl", "Stellen unter diesem Wert weglassen (0 bis 1)"),
    "labels": ("Kennzeichnungen", "Nur Stellen mit einer dieser Kennzeichnungen"),
    "condition": ("Bedingung", "Ausdruck, z. B. inputs.betrag > 50000 (true/false oder ein Zweigname)"),
    "branches": ("Zweige", "Zweignamen, die die Bedingung liefern kann (Standard: true, false)"),
    "classes": ("Klassen", "Klassen für die KI-Einordnung, z. B. rechnung, technik, sonstiges"),
    "text": ("Text", "Was eingeordnet wird, z. B. {{ inputs.ticket }}"),
    "instructions": ("Hinweise", "Zusätzliche Hinweise für Einordnung oder Prüfung"),
    "threshold": ("Schwelle", "Unter dieser Sicherheit geht der Lauf in den Zweig „review“"),
    "assignees": (
        "Entscheider",
        "Wer entscheidet: role:<rolle> (z. B. role:champion) oder user:<name>, eine pro Zeile",
    ),
    "quorum": ("Benötigte Zustimmungen", "Wie viele Freigaben nötig sind"),
    "timeout": ("Frist", "ISO-8601-Dauer, nach der die Aufgabe abläuft, z. B. P3D"),
    "editable": ("Änderbar", "Die Entscheider dürfen den Inhalt ändern"),
    # Four eyes on tasks (approval node)
    "requester_may_decide": (
        "Anfragende Person darf selbst entscheiden",
        "Nur bei Risiko „minimal“ auf der Karte; solche Entscheidungen werden protokolliert",
    ),
    "title": ("Titel der Aufgabe", "So sieht die Aufgabe bei den Entscheidern aus"),
    "payload": ("Zu prüfender Inhalt", "Was freigegeben werden soll (Text oder JSON)"),
    "connection": ("Verbindung", "Name einer eingerichteten Verbindung"),
    "action": ("Aktion", "Was die Verbindung tun soll"),
}

RUN_STATUSES = ("succeeded", "failed", "waiting", "running", "cancelled", "expired", "skipped", "pending")


def node_type_title(node_type: str, fallback: str, lang: str = DEFAULT_LANGUAGE) -> str:
    known = NODE_TYPES.get(node_type)
    return _pick(known[0], lang) if known else fallback


def node_type_description(node_type: str, fallback: str, lang: str = DEFAULT_LANGUAGE) -> str:
    known = NODE_TYPES.get(node_type)
    return _pick(known[1], lang) if known else fallback


def field_texts(name: str, title: str, description: str, lang: str = DEFAULT_LANGUAGE) -> tuple[str, str]:
    """A config field's title and description in `lang` (German for the known ones)."""
    if lang != "en" and name in FIELDS_DE:
        return FIELDS_DE[name]
    return title, description


def status_labels(lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    return {status: translate(f"run_status_{status}", lang) for status in RUN_STATUSES}


# Runtime error codes with a sentence of their own (the runtime's message is English and technical).
ERRORS: dict[str, tuple[str, str]] = {
    "unauthorized": (
        "Ihre Anmeldung ist abgelaufen oder ungültig. Bitte melden Sie sich erneut an.",
        "Your session has expired or is invalid. Please sign in again.",
    ),
    "login_failed": ("Benutzername oder Passwort stimmt nicht.", "Username or password is wrong."),
    "not_found": (
        "Das gibt es nicht (mehr), oder Sie dürfen es nicht sehen.",
        "This does not exist (any more), or you may not see it.",
    ),
    "unreachable": (
        "Die Dirigent-Laufzeit antwortet nicht. Läuft sie? Ihre Administration hilft weiter.",
        "The Dirigent runtime does not answer. Is it running? Your administrators can help.",
    ),
    "internal_error": (
        "In Dirigent ist ein Fehler aufgetreten. Die Administration findet Details im Protokoll.",
        "Something went wrong inside Dirigent. The administrators find details in the log.",
    ),
    "slug_taken": (
        "Diesen Kurznamen gibt es schon. Bitte wählen Sie einen anderen.",
        "This short name is taken. Please choose another one.",
    ),
    "slug_unavailable": (
        "Dieser Kurzname ist nicht verfügbar. Bitte wählen Sie einen anderen.",
        "This short name is not available. Please choose another one.",
    ),
    # Sessions, passwords and what the runtime refuses for safety's sake.
    "login_throttled": (
        "Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
        "Too many failed sign-ins. Please wait a few minutes, then try again.",
    ),
    "wrong_password": ("Das bisherige Passwort stimmt nicht.", "The current password is wrong."),
    "weak_password": (
        "Das neue Passwort ist zu kurz: Es braucht mindestens 8 Zeichen.",
        "The new password is too short: it needs at least 8 characters.",
    ),
    "user_not_found": ("Diese Person gibt es nicht.", "There is no such user."),
    "role_not_held": ("Die Person hat diese Rolle nicht.", "The user does not hold this role."),
    "endpoint_not_allowed": (
        "Diese Adresse ist gesperrt. Interne Adressen gibt die Administration in DIRIGENT_EGRESS_ALLOW frei.",
        "This address is blocked. Administrators allow internal addresses in DIRIGENT_EGRESS_ALLOW.",
    ),
    "sqlite_outside_dir": (
        "SQLite-Dateien dürfen nur im dafür vorgesehenen Verzeichnis liegen (DIRIGENT_SQL_SQLITE_DIR).",
        "SQLite files may only be in the directory set aside for them (DIRIGENT_SQL_SQLITE_DIR).",
    ),
    "invalid_slug": (
        "Der Kurzname darf nur Kleinbuchstaben, Ziffern und Bindestriche enthalten.",
        "The short name may contain only lower-case letters, digits and hyphens.",
    ),
    "invalid_flow": (
        "Der Flow hat noch Fehler; sie sind an den Bausteinen markiert.",
        "The flow still has errors; they are marked on the blocks.",
    ),
    "comment_required": (
        "Bitte begründen Sie die Ablehnung im Kommentar.",
        "Please say in the comment why you reject it.",
    ),
    "concurrent_change": (
        "Jemand anderes hat das gerade geändert. Bitte laden Sie die Seite neu.",
        "Someone else changed this just now. Please reload the page.",
    ),
    "task_closed": ("Diese Aufgabe ist schon entschieden.", "This task is decided already."),
    "not_editable": (
        "Der Inhalt dieser Aufgabe darf nicht geändert werden.",
        "This task's content may not be edited.",
    ),
    "already_live": ("Diese Version ist schon live.", "This version is live already."),
    "not_published": ("Diese Version ist nicht veröffentlicht.", "This version is not published."),
    # A run is answered for only once it is stored (runtime/runs/admission.py).
    "run_not_stored": (
        "Der Lauf konnte nicht gespeichert werden (ist die Datenbank erreichbar?). Bitte versuchen Sie es gleich noch einmal.",
        "The run could not be stored (is the database reachable?). Please try again in a moment.",
    ),
    **TESTCASE_ERRORS,
    **OPERATE_ERRORS,
    **TRUST_ERRORS,
    **WORKING_COPY_ERRORS,
    **INBOX_ERRORS,
    **RUNS_ERRORS,
    **MODEL_ERRORS,
}

# Lead-ins for codes without a sentence of their own; the runtime's message follows.
LEADS: dict[str, tuple[str, str]] = {
    "forbidden": ("Nicht erlaubt", "Not allowed"),
    "not_found": ("Nicht gefunden oder nicht sichtbar für Sie", "Not found, or not visible to you"),
    "conflict": ("Geht gerade nicht", "Not possible right now"),
    "invalid_state": ("Geht in diesem Status nicht", "Not possible in this state"),
    "bad_request": ("Eingabe prüfen", "Please check the input"),
    "invalid_inputs": ("Eingaben prüfen", "Please check the inputs"),
    "unavailable": ("Dienst nicht verfügbar", "Service unavailable"),
}
STATUS_LEADS = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "bad_request",
    503: "unavailable",
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The text for `key` in `lang`, with `{name}` placeholders filled from `values`."""
    pair = TEXTS.get(key)
    text = _pick(pair, lang) if pair else key
    return text.format(**values) if values else text


# -- an optional part of the runtime is not installed (runtime/extras.py): 503 extra_missing
#    with the parameter `extra` (e.g. "knowledge"), for a request or one uploaded file.
EXTRA_MISSING = (
    "Dafür fehlt der Runtime die Erweiterung „{extra}“. Die Administration installiert sie mit: "
    "pip install 'dirigent[{extra}]'",
    "The runtime lacks the '{extra}' extra for this. Administrators install it with: "
    "pip install 'dirigent[{extra}]'",
)


def extra_missing_sentence(params: Any, lang: str = DEFAULT_LANGUAGE) -> str:
    """The `extra_missing` sentence, naming the extra from the error's parameters."""
    extra = str((params or {}).get("extra") or "?") if isinstance(params, dict) else "?"
    return _pick(EXTRA_MISSING, lang).format(extra=extra)


def describe_error(
    code: str, message: str, status: int, lang: str = DEFAULT_LANGUAGE, params: Any = None
) -> str:
    """A runtime error as a sentence for people: never a stack trace, never just a code.
    `params` is the error's body (its parameters), for codes whose sentence names one."""
    if code == "extra_missing":
        return extra_missing_sentence(params, lang)
    if code in ERRORS:
        return _pick(ERRORS[code], lang)
    if code == "forbidden" and message.startswith("four eyes"):
        return f"{_pick(('Vier-Augen-Prinzip', 'Four eyes'), lang)}: {message.split(':', 1)[-1].strip()}"
    lead_key = code if code in LEADS else STATUS_LEADS.get(status, "")
    lead = _pick(LEADS[lead_key], lang) if lead_key else _pick(("Fehler", "Error"), lang)
    detail = message.strip() or code
    return f"{lead}: {detail[:1].upper()}{detail[1:]}"


# -- step errors with a stable code (the engine's step error: `code` and its parameters) ------
# The template budget (nodes/template_budget.py): which limit a template ran into.
TEMPLATE_LIMITS: dict[str, tuple[str, str]] = {
    "output_chars": ("Länge des Ergebnisses in Zeichen", "length of the result in characters"),
    "string_chars": ("Länge eines Textes in Zeichen", "length of one text in characters"),
    "list_items": ("Einträge einer Liste", "items of one list"),
    "format_width": ("Breite oder Genauigkeit beim Formatieren", "width or precision when formatting"),
    "range_items": ("Zahlen in einem range()", "numbers in one range()"),
    "lipsum_words": ("Wörter aus lipsum()", "words from lipsum()"),
    "number_bits": ("Größe einer Zahl in Bit", "size of a number in bits"),
    "loop_iterations": ("Schleifendurchläufe", "loop iterations"),
    "calls": ("Aufrufe von Funktionen und Makros", "calls of functions and macros"),
    "work": ("erzeugte Zeichen und Elemente insgesamt", "characters and elements built in total"),
    "recursion_depth": ("Verschachtelungstiefe von Makros", "nesting depth of macros"),
    "cpu_seconds": ("Rechenzeit in Sekunden", "CPU time in seconds"),
    "wall_seconds": ("Dauer in Sekunden", "duration in seconds"),
    "memory_mb": ("Arbeitsspeicher in MB", "memory in MB"),
}
STEP_ERRORS: dict[str, tuple[str, str]] = {
    "template_budget_exceeded": (
        "Die Vorlage braucht mehr, als ihr Budget erlaubt: {limit} (höchstens {value}). "
        "Bitte vereinfachen Sie die Vorlage.",
        "The template needs more than its budget allows: {limit} (at most {value}). "
        "Please simplify the template.",
    ),
}


def describe_step_error(error: Any, lang: str = DEFAULT_LANGUAGE) -> str:
    """A failed step's (or run's) error as a sentence: by its code when it has a known one,
    else the runtime's own message."""
    if not isinstance(error, dict):
        return str(error or "")
    code = str(error.get("code") or "")
    if code == "no_model_endpoint":
        return no_model_sentence(error, lang)
    if code == "extra_missing":
        return extra_missing_sentence(error, lang)
    if code in STEP_ERRORS:
        limit = str(error.get("limit") or "")
        label = _pick(TEMPLATE_LIMITS[limit], lang) if limit in TEMPLATE_LIMITS else limit
        value = error.get("limit_value")
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return _pick(STEP_ERRORS[code], lang).format(limit=label, value=shown)
    if code:
        return describe_error(code, str(error.get("message") or ""), 0, lang)
    return str(error.get("message") or error)
