"""The runs viewer (an assistant's runs, a run's steps, a correction as a test case), in
German and English (merged into `i18n.TEXTS` and `i18n.ERRORS`; see there)."""

from __future__ import annotations

RUNS_TEXTS: dict[str, tuple[str, str]] = {
    # -- the page --------------------------------------------------------------------------------
    "open_runs": ("Läufe", "Runs"),
    "runs_title": ("Läufe", "Runs"),
    "runs_subtitle": (
        "Was Nutzende gefragt und bekommen haben – Schritt für Schritt, mit ihren Rückmeldungen.",
        "What people asked and got – step by step, with their feedback.",
    ),
    "runs_privacy": (
        "Läufe enthalten persönliche Daten der Fragenden. Jeder Blick in den Lauf einer anderen "
        "Person wird im Audit-Protokoll vermerkt (wer, welcher Lauf – nicht der Inhalt).",
        "Runs hold personal data of the people who asked. Every look into someone else's run is "
        "recorded in the audit trail (who, which run – not its content).",
    ),
    "runs_col_time": ("Zeit (UTC)", "Time (UTC)"),
    "runs_col_person": ("Person", "Person"),
    "runs_col_version": ("Version", "Version"),
    "runs_col_status": ("Status", "Status"),
    "runs_col_duration": ("Dauer", "Duration"),
    "runs_col_tokens": ("Tokens", "Tokens"),
    "runs_col_feedback": ("Rückmeldung", "Feedback"),
    "runs_no_person": ("ohne Person", "no person"),
    "runs_test_badge": ("Testlauf", "Test run"),
    "runs_filter_status": ("Status", "Status"),
    "runs_all_statuses": ("Alle Status", "All states"),
    "runs_filter_feedback": ("Rückmeldung", "Feedback"),
    "runs_feedback_all": ("Alle Läufe", "All runs"),
    "runs_feedback_any": ("mit Rückmeldung", "with feedback"),
    "runs_feedback_correction": ("mit Korrektur", "with a correction"),
    "runs_feedback_none": ("ohne Rückmeldung", "without feedback"),
    "runs_from": ("Von", "From"),
    "runs_to": ("Bis", "To"),
    "runs_include_tests": ("Testläufe zeigen", "Show test runs"),
    "runs_filter": ("Filtern", "Filter"),
    "runs_clear": ("Zurücksetzen", "Reset"),
    "runs_newer": ("Neuere", "Newer"),
    "runs_older": ("Ältere", "Older"),
    "runs_page": ("Seite", "Page"),
    "runs_empty": ("Keine Läufe gefunden", "No runs found"),
    "runs_empty_hint": (
        "Sobald jemand den Assistenten nutzt, erscheinen die Läufe hier. Prüfen Sie sonst die Filter.",
        "Runs appear here once someone uses the assistant. Otherwise, check the filters.",
    ),
    "feedback_up_label": ("Daumen hoch", "Thumbs up"),
    "feedback_down_label": ("Daumen runter", "Thumbs down"),
    "feedback_with_correction": ("mit Korrektur", "with a correction"),
    # -- one run's trace -------------------------------------------------------------------------
    "trace_pick": (
        "Wählen Sie einen Lauf, um seine Schritte zu sehen.",
        "Choose a run to see its steps.",
    ),
    "trace_run": ("Lauf", "Run"),
    "trace_answer": ("Antwort", "Answer"),
    "trace_no_answer": (
        "Keine Antwort: Der Lauf wartet noch, ist fehlgeschlagen oder wurde abgebrochen.",
        "No answer: the run is still waiting, failed or was cancelled.",
    ),
    "trace_correction": ("Korrektur der fragenden Person", "Correction by the person who asked"),
    "trace_no_correction": ("Keine Korrektur gegeben.", "No correction given."),
    "trace_rating": ("Bewertung", "Rating"),
    "trace_inputs": ("Eingaben des Laufs", "Inputs of the run"),
    "trace_steps": ("Schritte", "Steps"),
    "trace_step_inputs": ("Eingaben", "Inputs"),
    "trace_step_outputs": ("Ausgaben", "Outputs"),
    "trace_step_error": ("Fehler", "Error"),
    "trace_truncated": ("Gekürzt", "Shortened"),
    "trace_load_full": ("Vollständig laden", "Load in full"),
    "trace_run_error": ("Fehler des Laufs", "Error of the run"),
    "trace_step_failed": ("Fehler in „{node}“: {message}", "Error in “{node}”: {message}"),
    # -- a run as a test case --------------------------------------------------------------------
    "make_case": ("Als Testfall übernehmen", "Use as test case"),
    "make_case_title": ("Lauf als Testfall übernehmen", "Use this run as a test case"),
    "make_case_intro": (
        "Der Testfall kommt in die Arbeitskopie des Flows: mit den Eingaben dieses Laufs und einer "
        "Prüfung der Ausgabe. Die nächste Version muss ihn bestehen.",
        "The test case goes into the flow's working copy: with this run's inputs and a check of the "
        "output. The next version must pass it.",
    ),
    "case_name_label": ("Name des Testfalls", "Name of the test case"),
    "case_output_label": ("Geprüfte Ausgabe", "Output checked"),
    "case_check_label": ("Prüfung", "Check"),
    "case_check_equals": ("ist gleich (die ganze Antwort)", "equals (the whole answer)"),
    "case_check_contains": ("enthält (eine Kernaussage)", "contains (a key phrase)"),
    "case_expected_label": ("Erwarteter Text", "Expected text"),
    "case_expected_from_correction": (
        "Vorbelegt mit der Korrektur der fragenden Person.",
        "Filled in with the correction of the person who asked.",
    ),
    "case_expected_from_output": (
        "Vorbelegt mit der Antwort dieses Laufs (es gibt keine Korrektur).",
        "Filled in with this run's answer (there is no correction).",
    ),
    "case_contains_hint": (
        "Kürzen Sie den Text auf die Kernaussage, die jede gute Antwort enthalten muss.",
        "Cut the text down to the key phrase every good answer must contain.",
    ),
    "case_inputs_from_run": ("Eingaben aus dem Lauf", "Inputs from the run"),
    "case_fixed_from_run": (
        "Verbindungen, fixiert mit ihrer Antwort aus dem Lauf: {nodes}",
        "Connections, fixed with what they answered in the run: {nodes}",
    ),
    "case_decisions_from_run": (
        "Freigaben, entschieden wie im Lauf: {nodes}",
        "Approvals, decided as in the run: {nodes}",
    ),
    "case_llm_warning": (
        "Die LLM-Bausteine {nodes} sind nicht fixiert: Der Testfall prüft das Sprachmodell selbst und "
        "läuft nur „live“. Im festen Modus – der über das Einreichen entscheidet – schlägt er fehl, bis "
        "Sie die Ausgabe dieser Bausteine im Testfall fixieren.",
        "The LLM blocks {nodes} are not fixed: the test case checks the language model itself and runs "
        "only “live”. In fixed mode – which decides whether a version may be submitted – it fails until "
        "you fix these blocks' output in the case.",
    ),
    "case_create": ("Testfall anlegen", "Create test case"),
    "case_created": (
        "Testfall „{name}“ ist in der Arbeitskopie.",
        "Test case “{name}” is in the working copy.",
    ),
    "case_open_editor": ("Im Editor öffnen", "Open in the editor"),
    "case_conflict": (
        "Die Arbeitskopie wurde inzwischen geändert; der Dialog kennt jetzt ihren neuen Stand. "
        "Bitte legen Sie den Testfall noch einmal an.",
        "The working copy was changed in the meantime; the dialog now knows its new state. "
        "Please create the test case once more.",
    ),
    # -- the audit trail's names for what the viewer records -----------------------------------
    "audit_action_run_viewed": ("Lauf eingesehen", "Run viewed"),
    "audit_action_run_test_case_created": ("Lauf als Testfall übernommen", "Run used as a test case"),
    # -- what went wrong in a step, by the kind of error the engine recorded (`error.kind`) when
    # it has no code of its own; the runtime's English message follows the lead-in ----------
    "step_error_NodeTimeout": ("Zeitüberschreitung", "Timed out"),
    "step_error_ServiceUnavailable": ("Dienst nicht erreichbar", "Service unavailable"),
    "step_error_RemoteFailure": ("Die Gegenstelle meldet einen Fehler", "The remote side reports an error"),
    "step_error_TemplateError": ("Fehler in der Vorlage", "Error in the template"),
    "step_error_ConnectionMissing": ("Verbindung fehlt", "Connection missing"),
    "step_error_ActionNotAllowed": ("Aktion nicht erlaubt", "Action not allowed"),
    "step_error_EgressDenied": ("Ziel nicht freigegeben", "Destination not allowed"),
    "step_error_NotFixed": ("Im Testfall nicht fixiert", "Not fixed in the test case"),
    "step_error_InternalError": ("Interner Fehler im Baustein", "Internal error in the block"),
    "step_error_other": ("Fehler", "Error"),
}

RUNS_ERRORS: dict[str, tuple[str, str]] = {
    "working_copy_unusable": (
        "Die Arbeitskopie dieses Flows ist kein gültiges Flow-Dokument. Bitte reparieren Sie sie zuerst im Editor.",
        "This flow's working copy is not a flow document. Please repair it in the editor first.",
    ),
    "too_many_cases": (
        "Die Arbeitskopie hat schon die höchste erlaubte Zahl an Testfällen. Löschen Sie zuerst einen.",
        "The working copy already has the most test cases allowed. Delete one first.",
    ),
    "unknown_output": (
        "Diese Ausgabe gibt es in der Arbeitskopie nicht (mehr). Bitte wählen Sie eine andere.",
        "The working copy has no such output (any more). Please choose another one.",
    ),
    "expected_required": (
        "Bitte geben Sie den erwarteten Text an.",
        "Please enter the expected text.",
    ),
    "no_outputs": (
        "Die Arbeitskopie erklärt keine Ausgaben; ein Testfall hätte nichts zu prüfen.",
        "The working copy declares no outputs; a test case would have nothing to check.",
    ),
    "invalid_status": ("Unbekannter Status im Filter.", "Unknown state in the filter."),
    "invalid_cursor": (
        "Diese Seite gibt es nicht mehr. Bitte laden Sie die Liste neu.",
        "This page no longer exists. Please reload the list.",
    ),
    "bad_date": ("Bitte ein gültiges Datum angeben.", "Please enter a valid date."),
}
