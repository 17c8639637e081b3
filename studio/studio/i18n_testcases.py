"""Labels of the template gallery, the test cases, their reports and the submission gate.

Merged into `i18n.TEXTS` (same shape: `key: (german, english)`); kept apart because
these are many and belong together. `says_*` are the assertions of a test case in words.
"""

from __future__ import annotations

TESTCASE_TEXTS: dict[str, tuple[str, str]] = {
    # -- template gallery -----------------------------------------------------------------------
    "gallery_hint": (
        "Starten Sie mit einer Vorlage – fertig verdrahtet, dokumentiert und mit Testfällen – oder mit einem leeren Flow.",
        "Start from a template – wired, documented and with test cases – or from a blank flow.",
    ),
    "template_needs": ("Braucht", "Needs"),
    "needs_connection": ("Verbindung", "Connection"),
    "needs_index": ("Wissensindex", "Knowledge index"),
    "needs_nothing": ("Keine Verbindungen nötig", "No connections needed"),
    "template_cases": ("Testfälle", "test cases"),
    "template_english": ("auf Englisch", "in English"),
    "blank_flow_about": (
        "Eine Eingabe, eine Ausgabe – ziehen Sie die Bausteine selbst auf die Fläche.",
        "One input, one output – drag the building blocks onto the canvas yourself.",
    ),
    "templates_unavailable": (
        "Die Vorlagen konnten nicht geladen werden; ein leerer Flow geht immer.",
        "The templates could not be loaded; a blank flow always works.",
    ),
    # -- test cases in the editor ---------------------------------------------------------------
    "tab_cases": ("Testfälle", "Test cases"),
    "cases_hint": (
        "Ein Testfall startet den Flow mit festen Eingaben und prüft, was herauskommt. Eingereicht werden kann eine Version erst, wenn alle Testfälle bestehen.",
        "A test case runs the flow with set inputs and checks what comes out. A version can be submitted once all its test cases pass.",
    ),
    "cases_empty": (
        "Noch keine Testfälle. Legen Sie mindestens einen an – ohne bestandene Tests kann die Version nicht eingereicht werden.",
        "No test cases yet. Add at least one – without passing tests the version cannot be submitted.",
    ),
    "add_case": ("Testfall hinzufügen", "Add test case"),
    "edit_case": ("Bearbeiten", "Edit"),
    "delete_case": ("Löschen", "Delete"),
    "case_saved": ("Testfall „{name}“ gespeichert – Version {n}.", "Test case “{name}” saved – version {n}."),
    "case_deleted": (
        "Testfall „{name}“ gelöscht – Version {n}.",
        "Test case “{name}” deleted – version {n}.",
    ),
    "run_cases": ("Tests ausführen", "Run tests"),
    "running_cases": ("Tests laufen …", "Running tests …"),
    "live_mode": ("Live mit dem Sprachmodell", "Live against the language model"),
    "live_hint": (
        "Live-Ergebnisse werden angezeigt, zählen aber nicht für die Freigabe.",
        "Live results are shown but do not count for approval.",
    ),
    "case_inputs": ("Eingaben", "Inputs"),
    "case_fixed": ("Fixiert", "Fixed"),
    "case_decisions": ("Entscheidungen", "Decisions"),
    "case_expect": ("Erwartet", "Expected"),
    "case_form_new": ("Neuer Testfall", "New test case"),
    "case_form_edit": ("Testfall bearbeiten", "Edit test case"),
    "case_name": ("Name", "Name"),
    "case_description": ("Beschreibung (optional)", "Description (optional)"),
    "case_fixed_hint": (
        'Optional: was ein Baustein liefern soll, als JSON, z. B. {"text": "…"}. Leer lassen: der Baustein läuft wirklich.',
        'Optional: what a block returns, as JSON, e.g. {"text": "…"}. Leave empty: the block really runs.',
    ),
    "case_decisions_hint": (
        "Wie die Freigabe im Test entschieden wird (sonst wartet der Lauf).",
        "How the approval is decided in the test (otherwise the run waits).",
    ),
    "case_expect_hint": (
        "Was nach dem Lauf stimmen muss. Werte sind Text; mit { oder [ beginnend JSON.",
        "What must hold after the run. Values are text; JSON when they start with { or [.",
    ),
    "add_check": ("Erwartung hinzufügen", "Add expectation"),
    "check_target": ("Worauf", "On"),
    "check_field": ("Feld", "Field"),
    "check_value": ("Wert", "Value"),
    "check_whole_run": ("den ganzen Lauf", "the whole run"),
    "decision_open": ("nicht vorgegeben", "not set"),
    "decision_approve": ("freigeben", "approve"),
    "decision_reject": ("ablehnen", "reject"),
    "decision_comment": ("Kommentar", "Comment"),
    "case_name_required": ("Der Testfall braucht einen Namen.", "The test case needs a name."),
    "case_name_taken": (
        "Einen Testfall mit diesem Namen gibt es schon.",
        "A test case with this name exists.",
    ),
    "case_bad_json": ("„{node}“: kein JSON-Objekt ({detail}).", "“{node}”: not a JSON object ({detail})."),
    "case_bad_value": ("Erwartung „{check}“: {detail}", "Expectation “{check}”: {detail}"),
    "case_needs_check": ("Mindestens eine Erwartung angeben.", "Give at least one expectation."),
    "case_needs_target": (
        "Bitte wählen, worauf sich die Erwartung bezieht.",
        "Please choose what it is about.",
    ),
    "case_needs_field": (
        "„{node}“: Bitte das Feld angeben, z. B. text.",
        "“{node}”: please give the field, e.g. text.",
    ),
    "case_needs_node": ("Bitte einen Baustein wählen.", "Please choose a block."),
    # -- the checks, as labels and in words -----------------------------------------------------
    "check_equals": ("ist genau", "equals"),
    "check_contains": ("enthält", "contains"),
    "check_regex": ("passt zum Muster", "matches the pattern"),
    "check_json_schema": ("ist JSON nach Schema", "is JSON valid for the schema"),
    "check_branch": ("nimmt den Zweig", "takes the branch"),
    "check_approval_raised": ("fordert eine Freigabe an", "raises an approval task"),
    "check_no_connector_call": ("ruft keine Verbindung auf", "calls no connection"),
    "check_max_duration_ms": ("dauert höchstens (ms)", "takes at most (ms)"),
    "check_status": ("endet mit Status", "ends with the status"),
    "check_fixed": ("Fixierung", "fixed output"),
    "check_inputs": ("Eingaben", "inputs"),
    "target_output": ("Ergebnis „{name}“", "Output “{name}”"),
    "target_node": ("Baustein „{node}“", "Block “{node}”"),
    "target_node_field": ("„{node}.{field}“", "“{node}.{field}”"),
    "says_equals": ("{target} ist genau {value}", "{target} equals {value}"),
    "says_contains": ("{target} enthält {value}", "{target} contains {value}"),
    "says_regex": ("{target} passt zum Muster {value}", "{target} matches the pattern {value}"),
    "says_json_schema": (
        "{target} ist gültiges JSON nach dem Schema",
        "{target} is valid JSON for the schema",
    ),
    "says_branch": ("{target} nimmt den Zweig {value}", "{target} takes the branch {value}"),
    "says_approval_raised": ("{target} fordert eine Freigabe an", "{target} raises an approval task"),
    "says_approval_raised_any": ("Der Lauf fordert eine Freigabe an", "The run raises an approval task"),
    "says_no_connector_call": ("{target} ruft keine Verbindung auf", "{target} calls no connection"),
    "says_no_connector_call_any": ("Keine Verbindung wird aufgerufen", "No connection is called"),
    "says_max_duration_ms": ("Der Lauf dauert höchstens {value} ms", "The run takes at most {value} ms"),
    "says_status": ("Der Lauf endet mit Status {value}", "The run ends with the status {value}"),
    "says_unknown": ("Prüfung „{check}“", "Check “{check}”"),
    # -- reports ----------------------------------------------------------------------------------
    "report_title": ("Testbericht", "Test report"),
    "report_summary": ("{passed} von {total} Tests bestanden", "{passed} of {total} tests passed"),
    "report_none": (
        "Für diese Version gibt es noch keinen Testbericht.",
        "There is no test report for this version yet.",
    ),
    "mode_fixed": ("fixiert", "fixed"),
    "mode_live": ("live", "live"),
    "case_passed": ("bestanden", "passed"),
    "case_failed": ("fehlgeschlagen", "failed"),
    "step_fixed": ("fixiert", "fixed"),
    "report_steps": ("Schritte", "Steps"),
    "tests_ran_ok": ("Alle {total} Tests bestanden.", "All {total} tests passed."),
    "tests_ran_failed": ("{failed} von {total} Tests fehlgeschlagen.", "{failed} of {total} tests failed."),
    "review_tests": ("Testbericht (fixierte Tests)", "Test report (fixed tests)"),
    "col_tests": ("Tests", "Tests"),
    "diff_tests": ("Testfälle", "Test cases"),
    # -- the submission gate ----------------------------------------------------------------------
    "submit_short": ("Einreichen", "Submit"),
    "gate_passed": ("Tests bestanden", "Tests passed"),
    "gate_missing": ("Tests fehlen", "Tests missing"),
    "gate_failed": ("{failed} von {total} Tests fehlgeschlagen", "{failed} of {total} tests failed"),
    "submit_refused_title": ("Einreichen nicht möglich", "Cannot submit"),
    "submit_refused_hint": (
        "Führen Sie unter „Testfälle“ die Tests aus; sobald alle bestehen, können Sie einreichen.",
        "Run the tests under “Test cases”; once all pass, you can submit.",
    ),
    "refused_no_cases": (
        "Einreichen abgelehnt: Diese Version hat keine Testfälle. Das Gremium gibt nur getestete Versionen frei.",
        "Submission refused: this version has no test cases. The board approves only tested versions.",
    ),
    "refused_not_run": (
        "Einreichen abgelehnt: Die Testfälle dieser Version wurden noch nicht ausgeführt.",
        "Submission refused: the test cases of this version have not been run.",
    ),
    "refused_failed": (
        "Einreichen abgelehnt: {failed} von {total} Testfällen dieser Version sind im letzten Lauf fehlgeschlagen.",
        "Submission refused: {failed} of {total} test cases of this version failed in the latest run.",
    ),
    "runtime_says": ("Meldung der Laufzeit", "The runtime says"),
    "to_cases": ("Zu den Testfällen", "To the test cases"),
    "override_title": ("Administration: trotzdem einreichen", "Administration: submit anyway"),
    "override_reason": (
        "Begründung (wird im Audit-Protokoll vermerkt)",
        "Reason (recorded in the audit trail)",
    ),
    "override_submit": ("Trotzdem einreichen", "Submit anyway"),
    "override_reason_required": ("Bitte geben Sie eine Begründung an.", "Please give a reason."),
}

TESTCASE_ERRORS: dict[str, tuple[str, str]] = {
    "tests_not_passed": (
        "Einreichen abgelehnt: Nicht alle Testfälle dieser Version sind bestanden. Führen Sie die Tests im Editor aus.",
        "Submission refused: not all test cases of this version passed. Run the tests in the editor.",
    ),
}
