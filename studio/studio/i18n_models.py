"""Texts of the models page (admins connect language models) and of the error a champion
meets when a flow's model is not connected, German and English (merged into `i18n`)."""

from __future__ import annotations

from typing import Any

MODEL_TEXTS: dict[str, tuple[str, str]] = {
    "nav_models": ("Modelle", "Models"),
    "models_title": ("Modelle", "Models"),
    "models_subtitle": (
        "Sprachmodelle, die Flows nutzen: Server mit OpenAI-kompatibler Schnittstelle "
        "(TGI, vLLM, llama.cpp, Ollama).",
        "Language models flows use: servers with an OpenAI-compatible API (TGI, vLLM, llama.cpp, Ollama).",
    ),
    "models_admins_only": (
        "Sprachmodelle bindet die Administration an.",
        "Language models are connected by administrators.",
    ),
    "models_empty": ("Noch kein Sprachmodell angebunden.", "No language model connected yet."),
    "models_empty_hint": (
        "Binden Sie einen Modellserver an; Flows wählen ihn im Baustein „LLM“ unter „model“.",
        "Connect a model server; flows choose it in the “LLM” block under “model”.",
    ),
    "model_new": ("Modell anbinden", "Connect a model"),
    "model_new_title": ("Sprachmodell anbinden", "Connect a language model"),
    "model_edit_title": ("Sprachmodell bearbeiten", "Edit the language model"),
    "model_name": ("Name", "Name"),
    "model_name_hint": (
        "Flows nennen das Modell so; „default“ ist das, was Flows ohne Angabe nutzen. Buchstaben, Ziffern, _ . -",
        "Flows name the model like this; “default” is what flows use unless they say otherwise. "
        "Letters, digits, _ . -",
    ),
    "model_base_url": ("Basis-Adresse des Servers", "Server base URL"),
    "model_base_url_hint": (
        "z. B. http://tgi:80 oder http://vllm:8000/v1 (mit oder ohne /v1)",
        "e.g. http://tgi:80 or http://vllm:8000/v1 (with or without /v1)",
    ),
    "model_id": ("Modell-ID auf dem Server", "Model id on the server"),
    "model_id_hint": (
        "wie der Server das Modell nennt, z. B. meta-llama/Llama-3.1-8B-Instruct; TGI: tgi",
        "what the server calls the model, e.g. meta-llama/Llama-3.1-8B-Instruct; TGI: tgi",
    ),
    "model_api_key": ("API-Schlüssel (optional)", "API key (optional)"),
    "model_api_key_hint": (
        "Wird als „Authorization: Bearer …“ gesendet, verschlüsselt gespeichert und nie wieder angezeigt.",
        "Sent as “Authorization: Bearer …”, stored encrypted and never shown again.",
    ),
    "model_key_keep": ("Gespeicherten Schlüssel behalten", "Keep the stored key"),
    "model_key_replace": ("Durch einen neuen ersetzen", "Replace it with a new one"),
    "model_key_remove": ("Schlüssel entfernen", "Remove the key"),
    "model_key_stored": ("gespeichert", "stored"),
    "model_key_none": ("kein Schlüssel", "no key"),
    "model_key_missing": ("Bitte den neuen Schlüssel eingeben.", "Please enter the new key."),
    "model_name_missing": ("Bitte geben Sie einen Namen ein.", "Please enter a name."),
    "model_name_invalid": (
        "Nur Buchstaben, Ziffern, _ . - (höchstens 64 Zeichen).",
        "Letters, digits, _ . - only (at most 64 characters).",
    ),
    "model_name_taken": (
        "Ein Modell mit diesem Namen gibt es schon.",
        "A model with this name exists already.",
    ),
    "model_url_missing": ("Bitte die Adresse des Servers eingeben.", "Please enter the server's address."),
    "model_id_missing": ("Bitte die Modell-ID eingeben.", "Please enter the model id."),
    "model_source_environment": ("aus DIRIGENT_LLM_URL", "from DIRIGENT_LLM_URL"),
    "model_environment_hint": (
        "Vom Betrieb in DIRIGENT_LLM_URL eingestellt; hier nur testbar.",
        "Set by operations in DIRIGENT_LLM_URL; it can only be tested here.",
    ),
    "model_created": ("Modell „{name}“ angebunden.", "Model “{name}” connected."),
    "model_updated": ("Modell „{name}“ gespeichert.", "Model “{name}” saved."),
    "model_deleted": ("Modell „{name}“ entfernt.", "Model “{name}” removed."),
    "model_delete_title": ("Modell entfernen?", "Remove the model?"),
    "model_delete_body": (
        "Flows, die es nutzen, schlagen danach am LLM-Schritt fehl. Freigegebene Versionen halten es: "
        "Solange eine es nutzt, lässt es sich nicht entfernen.",
        "Flows that use it fail at the LLM step afterwards. Approved versions hold it: while one uses "
        "it, it cannot be removed.",
    ),
    "model_test": ("Testen", "Test"),
    "model_last_test": ("Letzter Test", "Last test"),
    "model_never_tested": ("noch nicht getestet", "not tested yet"),
    "model_test_ok": ("Antwortet ({latency} ms)", "Answers ({latency} ms)"),
    "model_test_failed": ("Test fehlgeschlagen: {reason}", "Test failed: {reason}"),
    "model_created_by": ("angelegt von {name}", "created by {name}"),
    # Why the one-token test request failed (runtime/llm/client.py FAILURE_REASONS)
    "model_error_not_allowed": (
        "Die Adresse ist gesperrt. Interne Adressen gibt der Betrieb in DIRIGENT_EGRESS_ALLOW frei.",
        "The address is blocked. Operations allow internal addresses in DIRIGENT_EGRESS_ALLOW.",
    ),
    "model_error_unreachable": (
        "Der Server ist nicht erreichbar – läuft er, stimmen Adresse und Port?",
        "The server cannot be reached – is it running, are address and port right?",
    ),
    "model_error_timeout": (
        "Der Server hat nicht rechtzeitig geantwortet (lädt er das Modell noch?).",
        "The server did not answer in time (is it still loading the model?).",
    ),
    "model_error_unauthorized": (
        "Der Server lehnt den API-Schlüssel ab – Schlüssel prüfen.",
        "The server refuses the API key – check the key.",
    ),
    "model_error_not_found": (
        "Unter dieser Adresse gibt es keine Chat-Schnittstelle oder kein Modell mit dieser ID – "
        "Basis-Adresse und Modell-ID prüfen.",
        "There is no chat API at this address, or no model with this id – check the base URL and the model id.",
    ),
    "model_error_server_error": (
        "Der Server meldet einen Fehler oder ist überlastet.",
        "The server reports an error or is overloaded.",
    ),
    "model_error_bad_response": (
        "Die Antwort ist keine gültige Chat-Antwort – ist das ein OpenAI-kompatibler Server?",
        "The answer is not a valid chat answer – is this an OpenAI-compatible server?",
    ),
}

MODEL_ERRORS: dict[str, tuple[str, str]] = {
    # The llm node found no endpoint by the model's name (runtime/llm/client.py NoModelEndpoint).
    "no_model_endpoint": (
        "Für diesen Flow ist kein Sprachmodell angebunden. Eine Administratorin oder ein "
        "Administrator kann unter „Modelle“ eines anbinden.",
        "No language model is connected for this flow. An administrator can connect one under “Models”.",
    ),
    "endpoint_in_use": (
        "Freigegebene Versionen nutzen dieses Modell noch. Ändern Sie stattdessen die Adresse "
        "(der Name bleibt) oder ziehen Sie die Versionen zuerst zurück.",
        "Approved versions still use this model. Change its address instead (the name stays), "
        "or retire those versions first.",
    ),
    "invalid_endpoint": (
        "Die Adresse des Servers ist ungültig: http(s)://rechner:port, ohne Benutzer, Passwort oder ?…",
        "The server address is not valid: http(s)://host:port, without user, password or ?…",
    ),
}


def no_model_sentence(error: dict[str, Any], lang: str) -> str:
    """The `no_model_endpoint` sentence; a model other than "default" is named in it."""
    german, english = MODEL_ERRORS["no_model_endpoint"]
    sentence = english if lang == "en" else german
    model = str(error.get("model") or "")
    if model and model != "default":
        named = f"Gewählt ist „{model}“." if lang != "en" else f"The flow asks for “{model}”."
        sentence = f"{sentence} {named}"
    return sentence


def probe_failure_text(reason: str, lang: str) -> str:
    """Why the test button's request failed, in words (the code itself when unknown)."""
    pair = MODEL_TEXTS.get(f"model_error_{reason}")
    return (pair[1] if lang == "en" else pair[0]) if pair else reason
