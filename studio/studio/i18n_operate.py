"""Labels of the knowledge and connections pages and of chat feedback, German and English
(merged into `i18n.TEXTS`; see there). Monitoring and audit: `i18n_insight.py`."""

from __future__ import annotations

KNOWLEDGE_TEXTS: dict[str, tuple[str, str]] = {
    "knowledge_title": ("Wissen", "Knowledge"),
    "knowledge_subtitle": (
        "Wissensindizes dieses Arbeitsbereichs: Dokumente hochladen, Stand prüfen, Suche ausprobieren.",
        "Knowledge indexes of this workspace: upload documents, check their state, try a search.",
    ),
    "knowledge_empty": (
        "Noch kein Wissensindex in diesem Arbeitsbereich.",
        "No knowledge index in this workspace yet.",
    ),
    "knowledge_empty_hint": (
        "Legen Sie einen Index an und laden Sie Dokumente hoch; Flows finden sie dann mit dem Baustein „Wissenssuche“.",
        "Create an index and upload documents; flows find them with the “Knowledge search” block.",
    ),
    "new_index": ("Neuer Index", "New index"),
    "new_index_hint": (
        "Ein Index sammelt Dokumente, die Assistenten durchsuchen dürfen.",
        "An index collects documents that assistants may search.",
    ),
    "index_name": ("Name", "Name"),
    "index_name_hint": (
        "Kleinbuchstaben, Ziffern, - und _; Flows nennen den Index so, z. B. angebote.",
        "Lower-case letters, digits, - and _; flows name the index like this, e.g. offers.",
    ),
    "index_name_missing": ("Bitte geben Sie dem Index einen Namen.", "Please give the index a name."),
    "index_description": ("Beschreibung", "Description"),
    "index_labels": ("Kennzeichnungen", "Labels"),
    "labels_hint": (
        "Durch Kommas getrennt, z. B. vertrieb, intern. „hr-…“ und „confidential…“ sehen nur Berechtigte.",
        "Comma-separated, e.g. sales, internal. “hr-…” and “confidential…” are for authorised people only.",
    ),
    "index_created": ("Index „{name}“ angelegt.", "Index “{name}” created."),
    "index_deleted": ("Index „{name}“ gelöscht.", "Index “{name}” deleted."),
    "delete_index": ("Index löschen", "Delete index"),
    "delete_index_title": ("Index löschen?", "Delete the index?"),
    "delete_index_body": (
        "Der Index und alle seine Dokumente werden gelöscht. Flows, die ihn durchsuchen, finden danach nichts mehr. "
        "Das lässt sich nicht rückgängig machen.",
        "The index and all its documents are deleted. Flows that search it find nothing afterwards. "
        "This cannot be undone.",
    ),
    "delete_document_title": ("Dokument löschen?", "Delete the document?"),
    "delete_document_body": (
        "Das Dokument wird aus dem Index entfernt; Assistenten finden es nicht mehr.",
        "The document is removed from the index; assistants no longer find it.",
    ),
    "document_deleted": ("„{name}“ gelöscht.", "“{name}” deleted."),
    "upload_title": ("Dokumente hinzufügen", "Add documents"),
    "upload_drop": (
        "Dateien hierher ziehen oder klicken, um sie auszuwählen",
        "Drop files here or click to choose them",
    ),
    "upload_types": (
        "PDF, Word (DOCX), Text, Markdown, HTML und E-Mails (EML); mehrere auf einmal",
        "PDF, Word (DOCX), text, Markdown, HTML and e-mails (EML); several at once",
    ),
    "upload_labels": ("Kennzeichnungen für diese Dateien (optional)", "Labels for these files (optional)"),
    "upload_start": ("Hochladen", "Upload"),
    "upload_choose_files": ("Bitte wählen Sie zuerst Dateien aus.", "Please choose files first."),
    "upload_sending": ("Dateien werden übertragen …", "Sending the files …"),
    "job_running": (
        "{done} von {total} Dateien verarbeitet, {chunks} Abschnitte",
        "{done} of {total} files processed, {chunks} passages",
    ),
    "job_queued": ("Wartet auf Verarbeitung …", "Waiting to be processed …"),
    "job_succeeded": (
        "Fertig: {total} Dateien aufgenommen, {chunks} Abschnitte.",
        "Done: {total} files indexed, {chunks} passages.",
    ),
    "job_completed_with_errors": (
        "Fertig mit Fehlern: {failed} von {total} Dateien nicht aufgenommen.",
        "Done with errors: {failed} of {total} files not indexed.",
    ),
    "job_failed": ("Keine Datei aufgenommen.", "No file was indexed."),
    "file_status_queued": ("wartet", "queued"),
    "file_status_running": ("wird verarbeitet", "processing"),
    "file_status_indexed": ("aufgenommen", "indexed"),
    "file_status_unchanged": ("unverändert", "unchanged"),
    "file_status_failed": ("fehlgeschlagen", "failed"),
    "file_error_unsupported_file_type": (
        "Dieser Dateityp wird nicht unterstützt. Möglich sind PDF, DOCX, TXT, MD, HTML und EML.",
        "This file type is not supported. Possible are PDF, DOCX, TXT, MD, HTML and EML.",
    ),
    "file_error_empty_file": (
        "Die Datei ist leer oder enthält keinen lesbaren Text (z. B. ein eingescanntes PDF ohne Texterkennung).",
        "The file is empty or holds no readable text (e.g. a scanned PDF without text recognition).",
    ),
    "file_error_file_too_large": (
        "Die Datei ist größer als erlaubt. Teilen Sie sie auf oder fragen Sie die Administration.",
        "The file is larger than allowed. Split it or ask your administrators.",
    ),
    "file_error_corrupt_file": (
        "Die Datei ist beschädigt oder hat nicht das Format, das ihre Endung verspricht.",
        "The file is damaged or not in the format its extension promises.",
    ),
    "file_error_protected_file": (
        "Die Datei ist passwortgeschützt. Bitte laden Sie sie ohne Passwort hoch.",
        "The file is password-protected. Please upload it without a password.",
    ),
    "file_error_duplicate_name": (
        "Eine andere Datei dieses Uploads heißt genauso; nur die erste wird aufgenommen.",
        "Another file of this upload has the same name; only the first is indexed.",
    ),
    "file_error_other": ("Nicht aufgenommen: {message}", "Not indexed: {message}"),
    # -- a file over a limit of ingestion (runtime/knowledge/limits.py): code file_too_complex,
    #    one text per limit; {value} and {maximum} come formatted in the page's language.
    "file_error_file_too_complex": (
        "Die Datei ist zu komplex, um sie aufzunehmen.",
        "The file is too complex to be indexed.",
    ),
    "file_too_complex_nesting_depth": (
        "Die Datei ist zu tief verschachtelt: mehr als {maximum} Ebenen von Elementen ineinander.",
        "The file is nested too deeply: more than {maximum} levels of elements inside each other.",
    ),
    "file_too_complex_elements": (
        "Die Datei hat zu viele HTML-Elemente: mehr als {maximum}.",
        "The file has too many HTML elements: more than {maximum}.",
    ),
    "file_too_complex_paragraphs": (
        "Das Word-Dokument hat zu viele Absätze: mehr als {maximum}.",
        "The Word file has too many paragraphs: more than {maximum}.",
    ),
    "file_too_complex_zip_entries": (
        "Das Word-Dokument enthält {value} gepackte Dateien; erlaubt sind höchstens {maximum}.",
        "The Word file packs {value} files; at most {maximum} are allowed.",
    ),
    "file_too_complex_decompressed_bytes": (
        "Das Word-Dokument ist entpackt {value} groß; erlaubt sind höchstens {maximum}.",
        "The Word file unpacks to {value}; at most {maximum} are allowed.",
    ),
    "file_too_complex_pages": (
        "Das PDF hat {value} Seiten; erlaubt sind höchstens {maximum}.",
        "The PDF has {value} pages; at most {maximum} are allowed.",
    ),
    "file_too_complex_pdf_structure": (
        "Das PDF überschreitet eine Sicherheitsgrenze des PDF-Lesers (etwa einen riesigen gepackten Inhalt).",
        "The PDF exceeds a safety limit of the PDF reader (such as a huge packed content).",
    ),
    "file_too_complex_header_chars": (
        "Eine Kopfzeile der E-Mail ist {value} Zeichen lang; erlaubt sind höchstens {maximum}.",
        "An e-mail header is {value} characters long; at most {maximum} are allowed.",
    ),
    "file_too_complex_email_headers": (
        "Die E-Mail hat mehr als {maximum} Kopfzeilen.",
        "The e-mail has more than {maximum} header lines.",
    ),
    "file_too_complex_mime_parts": (
        "Die E-Mail hat mehr als {maximum} Teile (Inhalte und Anhänge).",
        "The e-mail has more than {maximum} parts (bodies and attachments).",
    ),
    "file_too_complex_text_chars": (
        "Die Datei enthält {value} Zeichen Text; erlaubt sind höchstens {maximum}.",
        "The file holds {value} characters of text; at most {maximum} are allowed.",
    ),
    "file_too_complex_chunks": (
        "Die Datei ergäbe mehr als {maximum} Abschnitte.",
        "The file would make more than {maximum} passages.",
    ),
    "file_too_complex_document_bytes": (
        "Die Abschnitte der Datei wären {value} groß; erlaubt sind höchstens {maximum}.",
        "The file's passages would take {value}; at most {maximum} are allowed.",
    ),
    "file_too_complex_cpu_seconds": (
        "Das Lesen der Datei brauchte mehr als {maximum} Sekunden Rechenzeit.",
        "Reading the file took more than {maximum} seconds of CPU time.",
    ),
    "file_too_complex_memory_mb": (
        "Das Lesen der Datei brauchte mehr als {maximum} MB Arbeitsspeicher.",
        "Reading the file needed more than {maximum} MB of memory.",
    ),
    "file_too_complex_timeout_s": (
        "Das Lesen der Datei dauerte länger als {maximum} Sekunden.",
        "Reading the file took longer than {maximum} seconds.",
    ),
    "file_too_complex_advice": (
        "Teilen Sie sie in kleinere Dateien auf oder fragen Sie die Administration nach der Grenze.",
        "Split it into smaller files or ask your administrators about the limit.",
    ),
    "file_error_extraction_failed": (
        "Das Lesen der Datei brach unerwartet ab; vielleicht ist sie beschädigt.",
        "Reading the file stopped unexpectedly; it may be damaged.",
    ),
    "documents_title": ("Dokumente", "Documents"),
    "documents_empty": ("Dieser Index enthält noch keine Dokumente.", "This index holds no documents yet."),
    "documents_empty_manage": (
        "Noch keine Dokumente – laden Sie oben die ersten hoch.",
        "No documents yet – upload the first ones above.",
    ),
    "col_file": ("Datei", "File"),
    "col_labels": ("Kennzeichnungen", "Labels"),
    "col_chunks": ("Abschnitte", "Passages"),
    "col_size": ("Größe", "Size"),
    "col_updated": ("Geändert", "Updated"),
    "search_title": ("Suche ausprobieren", "Try a search"),
    "search_hint": (
        "So findet der Baustein „Wissenssuche“ Textstellen – mit Ihren Berechtigungen.",
        "This is how the “Knowledge search” block finds passages – with your permissions.",
    ),
    "search_placeholder": ("Wonach suchen Sie?", "What are you looking for?"),
    "search": ("Suchen", "Search"),
    "search_nothing": (
        "Nichts gefunden. Versuchen Sie andere Wörter oder laden Sie passende Dokumente hoch.",
        "Nothing found. Try other words or upload matching documents.",
    ),
}

CONNECTION_TEXTS: dict[str, tuple[str, str]] = {
    # Test target and interrupted calls (the connection form, the test panel, tasks)
    "conn_test_target_title": ("Testziel für Testläufe", "Test target for test runs"),
    "conn_test_target_hint": (
        "Testläufe aus dem Editor rufen statt des Produktivsystems dieses Ziel auf – mit eigener "
        "Adresse und eigenen Zugangsdaten. Ohne Testziel lösen Testläufe nichts aus (keine Mails, "
        "kein POST) und lesen Produktivdaten nur mit ausdrücklicher Erlaubnis.",
        "Test runs from the editor call this target instead of production – with its own address "
        "and credentials. Without one, test runs cause no side effects (no e-mails, no POST) and "
        "read production data only when explicitly allowed.",
    ),
    "conn_test_target_on": ("Testziel verwenden", "Use a test target"),
    "conn_test_target_badge": ("Testziel", "Test target"),
    "conn_test_target_none": ("kein Testziel", "no test target"),
    "conn_test_target_test": ("Testziel testen", "Test the test target"),
    "conn_on_uncertain": ("Wenn ein Aufruf unterbrochen wurde", "When a call was interrupted"),
    "conn_on_uncertain_ask": ("Nachfragen (empfohlen)", "Ask a person (recommended)"),
    "conn_on_uncertain_retry": (
        "Erneut senden (Empfänger erkennt Wiederholungen)",
        "Send again (the receiver recognises repeats)",
    ),
    "conn_on_uncertain_fail": ("Schritt fehlschlagen lassen", "Fail the step"),
    "allow_live_reads": ("Produktivdaten lesen erlauben", "Allow reading production data"),
    "allow_live_reads_hint": (
        "Nur lesende Aufrufe (SQL, HTTP GET) von Verbindungen ohne Testziel",
        "Read-only calls (SQL, HTTP GET) of connections without a test target only",
    ),
    "task_uncertain_yes": ("Ja, wurde bereits gesendet", "Yes, it was already sent"),
    "task_uncertain_no": ("Nein, jetzt einmal senden", "No, send it once now"),
    "connections_title": ("Verbindungen", "Connections"),
    "connections_subtitle": (
        "Systeme, die Flows aufrufen dürfen: REST-Dienste, Webhooks, E-Mail, Datenbanken (nur lesend).",
        "Systems flows may call: REST services, webhooks, e-mail, databases (read-only).",
    ),
    "connections_empty": (
        "Noch keine Verbindung in diesem Arbeitsbereich.",
        "No connection in this workspace yet.",
    ),
    "connections_empty_hint": (
        "Legen Sie eine Verbindung an; Flows rufen sie mit dem Baustein „Verbindung“ auf.",
        "Create a connection; flows call it with the “Connector” block.",
    ),
    "connections_admins_only": (
        "Verbindungen richtet die Administration ein.",
        "Connections are set up by administrators.",
    ),
    "conn_new": ("Neue Verbindung", "New connection"),
    "conn_new_title": ("Neue Verbindung", "New connection"),
    "conn_edit_title": ("Verbindung bearbeiten", "Edit connection"),
    "conn_name": ("Name", "Name"),
    "conn_name_hint": (
        "Flows nennen die Verbindung so, z. B. crm. Buchstaben, Ziffern, _ . -",
        "Flows name the connection like this, e.g. crm. Letters, digits, _ . -",
    ),
    "conn_name_missing": ("Bitte geben Sie einen Namen ein.", "Please enter a name."),
    "conn_kind": ("Art", "Kind"),
    "kind_http": ("REST/HTTP", "REST/HTTP"),
    "kind_webhook": ("Webhook", "Webhook"),
    "kind_email": ("E-Mail (SMTP)", "E-mail (SMTP)"),
    "kind_sql": ("Datenbank (SQL, nur lesend)", "Database (SQL, read-only)"),
    "conn_base_url": ("Basis-Adresse", "Base URL"),
    "conn_auth": ("Anmeldung", "Authentication"),
    "auth_none": ("keine", "none"),
    "auth_bearer": ("Token (Bearer)", "Token (bearer)"),
    "auth_basic": ("Benutzer und Passwort", "User and password"),
    "auth_header": ("API-Schlüssel im Header", "API key in a header"),
    "conn_username": ("Benutzername", "Username"),
    "conn_header": ("Header für den Schlüssel", "Header for the key"),
    "conn_methods": ("Erlaubte Methoden", "Allowed methods"),
    "conn_paths": ("Erlaubte Pfade (Anfänge)", "Allowed paths (prefixes)"),
    "conn_test_path": ("Pfad für den Test (GET)", "Path for the test (GET)"),
    "conn_timeout": ("Zeitlimit (Sekunden)", "Timeout (seconds)"),
    "conn_verify_tls": ("TLS-Zertifikat prüfen", "Verify the TLS certificate"),
    "conn_verify_tls_hint": ("empfohlen; nur für Tests abschalten", "recommended; switch off for tests only"),
    "conn_url": ("Adresse", "URL"),
    "conn_smtp_host": ("Mailserver", "Mail server"),
    "conn_smtp_port": ("Port", "Port"),
    "conn_smtp_security": ("Verschlüsselung", "Encryption"),
    "conn_sender": ("Absender", "Sender"),
    "conn_domains": ("Erlaubte Empfänger-Domains", "Allowed recipient domains"),
    "conn_db_url": ("Datenbank-Adresse (ohne Passwort)", "Database URL (without password)"),
    "conn_max_rows": ("Höchstens Zeilen", "Rows at most"),
    "conn_not_a_number": ("Bitte eine Zahl eingeben.", "Please enter a number."),
    "secrets_title": ("Zugangsdaten", "Credentials"),
    "secrets_hint": (
        "Werden verschlüsselt gespeichert und nie wieder angezeigt. Leer lassen, um gespeicherte zu behalten.",
        "Stored encrypted and never shown again. Leave empty to keep what is stored.",
    ),
    "secret_token": ("Token", "Token"),
    "secret_password": ("Passwort", "Password"),
    "secret_api_key": ("API-Schlüssel", "API key"),
    "secret_signing_key": ("Signaturschlüssel (HMAC)", "Signing key (HMAC)"),
    "secret_set": ("gesetzt", "set"),
    "secret_keep": ("gesetzt – leer lassen, um es zu behalten", "set – leave empty to keep it"),
    "secret_new": ("noch nicht gesetzt", "not set yet"),
    "conn_created": ("Verbindung „{name}“ angelegt.", "Connection “{name}” created."),
    "conn_updated": ("Verbindung „{name}“ gespeichert.", "Connection “{name}” saved."),
    "conn_deleted": ("Verbindung „{name}“ gelöscht.", "Connection “{name}” deleted."),
    "conn_delete_title": ("Verbindung löschen?", "Delete the connection?"),
    "conn_delete_body": (
        "Flows, die sie aufrufen, schlagen danach an diesem Schritt fehl. Das lässt sich nicht rückgängig machen.",
        "Flows that call it fail at that step afterwards. This cannot be undone.",
    ),
    "conn_test": ("Testen", "Test"),
    "edit": ("Bearbeiten", "Edit"),
    "conn_test_passed": ("Test bestanden", "Test passed"),
    "conn_test_failed": ("Test fehlgeschlagen", "Test failed"),
    "conn_test_http": ("{host} antwortet mit HTTP {status}", "{host} answered HTTP {status}"),
    "conn_test_address_ok": (
        "{host} ist eine erlaubte Adresse (es wurde nichts gesendet)",
        "{host} is an allowed address (nothing was sent)",
    ),
    "conn_test_smtp_ok": (
        "Der Mailserver hat Verbindung und Anmeldung angenommen",
        "The mail server accepted the connection and the login",
    ),
    "conn_test_sql_ok": ("Die Datenbank antwortet (Lesetest)", "The database answers (read test)"),
    "conn_test_egress": (
        "Die Adresse {host} ist gesperrt. Interne Adressen gibt die Administration in DIRIGENT_EGRESS_ALLOW frei",
        "The address {host} is blocked. Administrators allow internal addresses in DIRIGENT_EGRESS_ALLOW",
    ),
    "conn_test_dns": ("Den Rechnernamen {host} gibt es nicht", "The host name {host} does not exist"),
    "conn_test_timeout": ("{host} hat nicht rechtzeitig geantwortet", "{host} did not answer in time"),
    "conn_test_unreachable": (
        "{host} ist nicht erreichbar – läuft der Dienst, stimmen Adresse und Port?",
        "{host} cannot be reached – is the service running, are address and port right?",
    ),
    "conn_test_login": (
        "{host} hat die Anmeldung abgelehnt – Benutzername und Passwort prüfen",
        "{host} refused the login – check username and password",
    ),
    "conn_test_sqlite_missing": ("Die Datenbankdatei gibt es nicht", "The database file does not exist"),
    "conn_test_other": ("{message}", "{message}"),
}

FEEDBACK_TEXTS: dict[str, tuple[str, str]] = {
    "correction_placeholder": (
        "Was hätte die Antwort sagen sollen? (optional)",
        "What should the answer have said? (optional)",
    ),
    "send_feedback": ("Rückmeldung senden", "Send feedback"),
}

OPERATE_ERRORS: dict[str, tuple[str, str]] = {
    "name_taken": (
        "Diesen Namen gibt es in diesem Arbeitsbereich schon. Bitte wählen Sie einen anderen.",
        "This name is taken in this workspace. Please choose another one.",
    ),
    "invalid_name": (
        "Der Name darf nur Kleinbuchstaben, Ziffern, - und _ enthalten (höchstens 64 Zeichen).",
        "The name may contain only lower-case letters, digits, - and _ (at most 64 characters).",
    ),
    "invalid_label": (
        "Eine Kennzeichnung darf nur Kleinbuchstaben, Ziffern und . _ : - enthalten, z. B. vertrieb.",
        "A label may contain only lower-case letters, digits and . _ : -, e.g. sales.",
    ),
    "no_files": ("Bitte wählen Sie mindestens eine Datei aus.", "Please choose at least one file."),
    "run_not_finished": (
        "Die Antwort ist noch nicht fertig; Rückmeldung geht, sobald sie fertig ist.",
        "The answer is not finished yet; feedback is possible once it is.",
    ),
    "knowledge_backend_unavailable": (
        "Der Suchdienst für Wissen ist gerade nicht erreichbar. Die Administration hilft weiter.",
        "The knowledge search service is not available right now. Your administrators can help.",
    ),
    # Side effects and test targets (runtime/connections/targets.py, journal.py)
    "no_test_target": (
        "Testläufe lösen nichts im Produktivsystem aus: Diese Verbindung hat kein Testziel. "
        "Die Administration kann ihr eines geben (eigene Adresse und Zugangsdaten).",
        "Test runs cause no side effects in production: this connection has no test target. "
        "Administrators can give it one (its own address and credentials).",
    ),
    "live_read_not_allowed": (
        "Diese Verbindung hat kein Testziel. Produktivdaten liest ein Testlauf nur, wenn Sie "
        "„Produktivdaten lesen erlauben“ ankreuzen.",
        "This connection has no test target. A test run reads production data only when you "
        "tick “Allow reading production data”.",
    ),
    "side_effect_uncertain": (
        "Ein unterbrochener Aufruf ist vielleicht schon beim Empfänger angekommen; er wird nicht "
        "blind wiederholt. Bitte beim Empfänger nachsehen.",
        "An interrupted call may already have reached its receiver; it is not repeated blindly. "
        "Please check with the receiver.",
    ),
}
