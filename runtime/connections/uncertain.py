"""What the call journal writes down about a call, and the question a person is asked
when an interrupted call's fate is unknown ("Wurde das bereits gesendet?").

The summary is one line a person can read in the journal, the audit detail and the task:
method, host and path, or recipients and subject, and sizes — never a secret, never a
whole body. The digest is the SHA-256 of the rendered call, so that a changed request
(upstream steps rendered anew after a crash) can be told from the one that was sent.

The question goes, as an approval task, to the workspace's admins (they manage
connections and can look into the receiving system or the mail server's log) and to
the connection's creator; the run's requester is never among the deciders (four eyes on
tasks, `dirigent.polar`). It has no deadline: a wrong guess is what it exists to avoid.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from nodes.connector import ConnectorRequest
from runtime.connections.journal import AskPerson

QUESTION = "side_effect_uncertain"
_ASSIGNABLE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
INSTRUCTIONS = (
    "Dirigent wurde während dieses Aufrufs unterbrochen (Absturz oder Neustart) und weiß nicht, "
    "ob er beim Empfänger angekommen ist. Bitte prüfen Sie beim Empfänger (z. B. im Postfach, "
    "im Protokoll des Mailservers oder im Zielsystem):\n"
    "• Freigeben = Ja, wurde bereits gesendet: Der Lauf geht weiter, ohne erneut zu senden.\n"
    "• Ablehnen = Nein, nicht angekommen: Der Aufruf wird genau einmal wiederholt.\n\n"
    "Dirigent was interrupted during this call (a crash or restart) and does not know whether "
    "it reached the receiver. Please check with the receiver (the mailbox, the mail server's "
    "log, the target system):\n"
    "• Approve = yes, it was already sent: the run goes on without sending again.\n"
    "• Reject = no, it did not arrive: the call is made once more."
)
ANSWERS = {
    "approve": {"de": "Ja, wurde bereits gesendet", "en": "Yes, it was already sent"},
    "reject": {"de": "Nein, jetzt einmal senden", "en": "No, send it once now"},
}


def request_digest(request: ConnectorRequest, method: str) -> str:
    canonical = json.dumps(
        {"method": method, **request.call_fields()}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _size(body: Any) -> str:
    if body is None:
        return ""
    return f" (JSON {len(json.dumps(body, ensure_ascii=False).encode())} B)"


def http_summary(host: str, method: str, path: str, body: Any) -> str:
    return f"{method} {host}{path}{_size(body)}"


def mail_summary(host: str, request: ConnectorRequest) -> str:
    parts = [f"E-Mail → {', '.join(request.to)}"]
    if request.cc:
        parts.append(f"cc {', '.join(request.cc)}")
    parts.append(f"„{request.subject[:120]}“")
    parts.append(f"{len(request.text.encode())} B via {host}")
    return " · ".join(parts)


def uncertainty_question(
    connection: str,
    request: ConnectorRequest,
    ask: AskPerson,
    target: str,
    owner: str | None,
    scrubbed: Any,
) -> dict[str, Any]:
    """The approval request the connector node suspends with (`nodes.connector.UncertainCall`).

    `payload.call` is the call as it would be made again; `resume` reads it back from the
    decision (the task is not editable, so what the person saw is what is sent)."""
    assignees = ["role:admin"]
    if owner and _ASSIGNABLE.match(owner):
        assignees.append(f"user:{owner}")
    payload = scrubbed(
        {
            "connection": connection,
            "action": request.action,
            "target": target,
            "summary": ask.summary,
            "interrupted_attempts": ask.attempts,
            "call": request.call_fields(),
        }
    )
    return {
        "title": f"Wurde das bereits gesendet? {connection}: {ask.summary}"[:500],
        "question": QUESTION,
        "answers": ANSWERS,
        "instructions": INSTRUCTIONS,
        "payload": payload,
        "assignees": assignees,
        "quorum": 1,
        "timeout_s": None,
        "editable": False,
        "requester_may_decide": False,
    }
