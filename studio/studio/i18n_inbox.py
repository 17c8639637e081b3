"""Labels of the inbox (bell, page) and of the admin's mail settings, German and English
(merged into `i18n.TEXTS`; see there). What each notification says is in `NOTIFICATIONS`:
the runtime sends a code and parameters, the studio words them in the person's language."""

from __future__ import annotations

INBOX_TEXTS: dict[str, tuple[str, str]] = {
    "nav_inbox": ("Posteingang", "Inbox"),
    "inbox_title": ("Posteingang", "Inbox"),
    "inbox_subtitle": (
        "Was auf Sie wartet und was entschieden wurde: eingereichte Versionen, Freigaben, Aufgaben.",
        "What waits for you and what was decided: submitted versions, approvals, tasks.",
    ),
    "inbox_empty": ("Keine Benachrichtigungen.", "No notifications."),
    "inbox_empty_hint": (
        "Hier erscheint, wenn eine Version auf Ihre Freigabe wartet, Ihre Version entschieden wurde oder eine Aufgabe für Sie ansteht.",
        "This is where you learn that a version awaits your approval, your version was decided, or a task waits for you.",
    ),
    "inbox_mark_all": ("Alle als gelesen markieren", "Mark all read"),
    "inbox_mark_read": ("Als gelesen markieren", "Mark read"),
    "inbox_marked_all": ("Alle Benachrichtigungen sind gelesen.", "All notifications are read."),
    "inbox_more": ("Ältere laden", "Load older"),
    "inbox_open": ("Öffnen", "Open"),
    "inbox_unread": ("ungelesen", "unread"),
    "inbox_bell": ("Benachrichtigungen", "Notifications"),
    # -- the admin's choice of the mail connection (connections page) ----------------------
    "notify_title": ("Benachrichtigungen per E-Mail", "Notifications by e-mail"),
    "notify_hint": (
        "Über diese E-Mail-Verbindung erfahren Freigabegremium, Autorinnen und Bearbeiter von eingereichten Versionen, Entscheidungen und Aufgaben. Ohne Verbindung gibt es nur den Posteingang im Studio.",
        "Through this e-mail connection the board, authors and assignees learn about submitted versions, decisions and tasks. Without one there is only the inbox in the studio.",
    ),
    "notify_connection": ("E-Mail-Verbindung", "E-mail connection"),
    "notify_none": ("keine – nur Posteingang", "none – inbox only"),
    "notify_studio_url": ("Adresse des Studios für Links", "The studio's address for links"),
    "notify_studio_url_hint": (
        "So erreichen die Empfänger das Studio, z. B. https://dirigent.firma.de (leer: Voreinstellung).",
        "How recipients reach the studio, e.g. https://dirigent.firma.de (empty: the default).",
    ),
    "notify_saved": ("Einstellungen für Benachrichtigungen gespeichert.", "Notification settings saved."),
    "notify_elsewhere": (
        "Gewählt ist „{name}“ aus dem Arbeitsbereich {workspace}.",
        "Chosen: “{name}” of the workspace {workspace}.",
    ),
    "notify_counts": (
        "E-Mails: {pending} ausstehend · {sent} gesendet · {failed} fehlgeschlagen",
        "Mails: {pending} pending · {sent} sent · {failed} failed",
    ),
}

# kind -> (German, English); `{comment}` is added by `inbox_view` only when there is one.
NOTIFICATIONS: dict[str, tuple[str, str]] = {
    "version_submitted": (
        "{by} hat Version {number} von „{flow}“ zur Freigabe eingereicht.",
        "{by} submitted version {number} of “{flow}” for approval.",
    ),
    "version_approved": (
        "Version {number} von „{flow}“ ist freigegeben ({by}) und kann veröffentlicht werden.",
        "Version {number} of “{flow}” is approved ({by}) and can be published.",
    ),
    "version_rejected": (
        "{by} hat Version {number} von „{flow}“ abgelehnt.",
        "{by} rejected version {number} of “{flow}”.",
    ),
    "task_assigned": (
        "Eine Aufgabe wartet auf Ihre Entscheidung: {title}",
        "A task awaits your decision: {title}",
    ),
    "task_overdue": (
        "Nicht rechtzeitig entschieden und abgelaufen: {title}",
        "Not decided in time, expired: {title}",
    ),
}
UNKNOWN_NOTIFICATION = ("Neue Benachrichtigung", "New notification")
COMMENT = ("Begründung: {comment}", "Reason: {comment}")

INBOX_ERRORS: dict[str, tuple[str, str]] = {
    "not_an_email_connection": (
        "Benachrichtigungen werden über eine E-Mail-Verbindung gesendet; bitte wählen Sie eine solche.",
        "Notifications are sent through an e-mail connection; please choose one.",
    ),
    "invalid_studio_url": (
        "Die Adresse des Studios muss mit http:// oder https:// beginnen, z. B. https://dirigent.firma.de.",
        "The studio's address must start with http:// or https://, e.g. https://dirigent.firma.de.",
    ),
    "invalid_cursor": (
        "Diese Seite des Posteingangs gibt es nicht mehr; bitte neu laden.",
        "This page of the inbox no longer exists; please reload.",
    ),
}
