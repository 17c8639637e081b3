"""Knowledge: the workspace's indexes, an index's documents with status and labels, upload
with a progress bar fed by the ingestion job, and a search box to try queries."""

from __future__ import annotations

import reflex as rx

from studio.components.confirm import confirm_dialog
from studio.components.dialog_footer import dialog_footer
from studio.components.layout import empty_state, page_frame, page_title
from studio.state.base import t
from studio.state.knowledge import UPLOAD_ID, KnowledgeState

FILE_COLOURS = (
    ("indexed", "green"),
    ("unchanged", "gray"),
    ("failed", "red"),
    ("running", "blue"),
    ("queued", "amber"),
)


def _status_badge(status: rx.Var, text: rx.Var) -> rx.Component:
    """The file's state, in the language of the switch (`text` for states it does not know)."""
    return rx.match(
        status,
        *[(name, rx.badge(t(f"file_status_{name}"), color_scheme=colour)) for name, colour in FILE_COLOURS],
        rx.badge(text),
    )


def _labels(text: rx.Var) -> rx.Component:
    return rx.cond(
        text != "",
        rx.hstack(
            rx.foreach(text.split(", "), lambda label: rx.badge(label, variant="outline", size="1")),
            spacing="1",
            wrap="wrap",
        ),
        rx.text("\u2013", size="1", color=rx.color("gray", 9)),
    )


def _index_item(index: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("library", size=14), rx.text(index["name"], weight="medium"), align="center"),
            rx.cond(
                index["description"] != "",
                rx.text(
                    index["description"],
                    size="1",
                    color=rx.color("gray", 10),
                    line_clamp=2,
                    custom_attrs={"data-user-content": "true"},  # what its owner wrote
                ),
            ),
            spacing="1",
        ),
        on_click=KnowledgeState.choose(index["id"]),
        cursor="pointer",
        width="100%",
        class_name="index-item",
        custom_attrs={"data-name": index["name"]},
        key=index["id"],
        border=rx.cond(KnowledgeState.current == index["id"], f"2px solid {rx.color('accent', 8)}", "none"),
    )


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("new_index")),
            rx.dialog.description(t("new_index_hint"), size="2", color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    rx.text(t("index_name"), size="2", weight="medium"),
                    rx.input(name="name", id="index-name", placeholder="angebote", width="100%"),
                    rx.text(t("index_name_hint"), size="1", color=rx.color("gray", 10)),
                    rx.text(t("index_description"), size="2", weight="medium"),
                    rx.text_area(name="description", id="index-description", rows="2", width="100%"),
                    rx.text(t("index_labels"), size="2", weight="medium"),
                    rx.input(name="labels", id="index-labels", placeholder="vertrieb", width="100%"),
                    rx.text(t("labels_hint"), size="1", color=rx.color("gray", 10)),
                    dialog_footer(
                        rx.button(
                            t("create"), type="submit", loading=KnowledgeState.creating, id="index-create"
                        ),
                        margin_top="8px",
                    ),
                    spacing="2",
                ),
                on_submit=KnowledgeState.create_index,
            ),
            id="new-index-dialog",
            max_width="520px",
        ),
        open=KnowledgeState.create_open,
        on_open_change=KnowledgeState.set_create_open,
    )


def _upload_card() -> rx.Component:
    picked = rx.selected_files(UPLOAD_ID)
    return rx.card(
        rx.vstack(
            rx.heading(t("upload_title"), size="3"),
            rx.upload(
                rx.vstack(
                    rx.icon("upload", size=22, color=rx.color("accent", 10)),
                    rx.text(t("upload_drop"), size="2", weight="medium"),
                    rx.text(t("upload_types"), size="1", color=rx.color("gray", 10)),
                    align="center",
                    spacing="1",
                ),
                id=UPLOAD_ID,
                multiple=True,
                padding="18px",
                width="100%",
                border=f"1px dashed {rx.color('accent', 7)}",
                border_radius="10px",
                cursor="pointer",
                background=rx.color("accent", 2),
            ),
            rx.cond(
                picked.length() > 0,
                rx.hstack(
                    rx.foreach(picked, lambda name: rx.badge(rx.icon("file", size=12), name, variant="soft")),
                    wrap="wrap",
                    spacing="1",
                    id="picked-files",
                ),
            ),
            rx.hstack(
                rx.vstack(
                    rx.input(
                        placeholder=t("upload_labels"),
                        value=KnowledgeState.upload_labels,
                        on_change=KnowledgeState.set_upload_labels,
                        id="upload-labels",
                        width="100%",
                    ),
                    rx.text(t("labels_hint"), size="1", color=rx.color("gray", 10)),
                    spacing="1",
                    flex="1",
                ),
                rx.button(
                    rx.icon("cloud-upload", size=16),
                    t("upload_start"),
                    on_click=KnowledgeState.upload(rx.upload_files(upload_id=UPLOAD_ID)),
                    loading=KnowledgeState.job_running,
                    disabled=picked.length() == 0,
                    id="upload-start",
                ),
                width="100%",
                align="start",
            ),
            rx.cond(KnowledgeState.job_text != "", _job_panel()),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _job_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(KnowledgeState.job_text, size="2", weight="medium", id="job-text"),
            rx.spacer(),
            rx.cond(
                ~KnowledgeState.job_running,
                rx.icon_button(
                    rx.icon("x", size=14), variant="ghost", size="1", on_click=KnowledgeState.dismiss_job
                ),
            ),
            width="100%",
            align="center",
        ),
        rx.progress(value=KnowledgeState.job_percent, max=100, width="100%", id="job-progress"),
        rx.foreach(
            KnowledgeState.job_files,
            lambda entry: rx.vstack(
                rx.hstack(
                    rx.icon("file-text", size=14),
                    rx.text(entry["name"], size="2"),
                    _status_badge(entry["status"], entry["status_text"]),
                    align="center",
                ),
                rx.cond(entry["error"] != "", rx.text(entry["error"], size="1", color=rx.color("red", 11))),
                spacing="1",
                class_name="job-file",
                custom_attrs={"data-name": entry["name"], "data-status": entry["status"]},
                key=entry["name"],
            ),
        ),
        width="100%",
        spacing="2",
        padding="12px",
        border_radius="8px",
        background=rx.color("gray", 2),
        id="job-panel",
        custom_attrs={"data-status": KnowledgeState.job_status},
    )


def _document_row(document: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(rx.icon("file-text", size=14), rx.text(document["filename"]), align="center")
        ),
        rx.table.cell(_labels(document["labels"])),
        rx.table.cell(document["chunks"]),
        rx.table.cell(document["size"]),
        rx.table.cell(document["updated"]),
        rx.table.cell(_status_badge(document["status"], document["status_text"])),
        rx.table.cell(
            rx.cond(
                KnowledgeState.can_manage & (document["id"] != ""),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    variant="ghost",
                    color_scheme="red",
                    size="1",
                    title=t("delete"),
                    class_name="document-delete",
                    on_click=KnowledgeState.ask_delete("document", document["id"], document["filename"]),
                ),
            )
        ),
        class_name="document-row",
        custom_attrs={"data-name": document["filename"], "data-status": document["status"]},
        key=document["filename"],  # unique in an index; a file still being ingested has no id yet
    )


def _documents_card() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(t(key))
                    for key in (
                        "col_file",
                        "col_labels",
                        "col_chunks",
                        "col_size",
                        "col_updated",
                        "col_state",
                    )
                ],
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(KnowledgeState.document_rows, _document_row)),
        width="100%",
        size="1",
    )
    return rx.card(
        rx.vstack(
            rx.heading(t("documents_title"), size="3"),
            rx.cond(
                KnowledgeState.document_rows.length() > 0,
                table,
                rx.cond(
                    KnowledgeState.documents_loading,
                    rx.center(rx.spinner(), width="100%", padding="20px"),
                    rx.text(
                        rx.cond(KnowledgeState.can_manage, t("documents_empty_manage"), t("documents_empty")),
                        size="2",
                        color=rx.color("gray", 10),
                        id="documents-empty",
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _hit(hit: rx.Var) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.icon("file-text", size=14),
            rx.text(hit["source"], size="2", weight="medium", class_name="hit-source"),
            rx.cond(
                hit["page"] != "", rx.text(t("page"), " ", hit["page"], size="1", color=rx.color("gray", 10))
            ),
            rx.cond(
                hit["section"] != "", rx.text("· ", hit["section"], size="1", color=rx.color("gray", 10))
            ),
            rx.spacer(),
            rx.badge(t("score"), " ", hit["score"], variant="outline"),
            align="center",
            width="100%",
        ),
        rx.text(hit["text"], size="2", line_clamp=4, margin_top="4px", white_space="pre-wrap"),
        padding="10px 12px",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        width="100%",
        class_name="search-hit",
        key=hit["id"],
    )


def _search_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("search_title"), size="3"),
            rx.text(t("search_hint"), size="1", color=rx.color("gray", 10)),
            rx.form(
                rx.hstack(
                    rx.input(name="query", placeholder=t("search_placeholder"), id="search-query", flex="1"),
                    rx.select(["3", "5", "10"], name="k", default_value="5", size="2"),
                    rx.button(
                        rx.icon("search", size=14),
                        t("search"),
                        type="submit",
                        loading=KnowledgeState.searching,
                        id="search-submit",
                    ),
                    width="100%",
                ),
                on_submit=KnowledgeState.search,
                width="100%",
            ),
            rx.cond(
                KnowledgeState.hits.length() > 0,
                rx.vstack(rx.foreach(KnowledgeState.hits, _hit), spacing="2", width="100%", id="search-hits"),
                rx.cond(
                    KnowledgeState.searched,
                    rx.text(t("search_nothing"), size="2", color=rx.color("gray", 10), id="search-nothing"),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _index_detail() -> rx.Component:
    index = KnowledgeState.current_index
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading(index["name"], size="5", id="index-title"),
                rx.cond(
                    index["description"] != "",
                    rx.text(index["description"], size="2", color=rx.color("gray", 11)),
                ),
                rx.cond(
                    index["labels"] != "",
                    rx.hstack(
                        rx.text(t("index_labels"), ":", size="1", color=rx.color("gray", 10)),
                        _labels(index["labels"]),
                    ),
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                KnowledgeState.can_manage,
                rx.button(
                    rx.icon("trash-2", size=14),
                    t("delete_index"),
                    variant="soft",
                    color_scheme="red",
                    id="index-delete",
                    on_click=KnowledgeState.ask_delete("index", index["id"], index["name"]),
                ),
            ),
            width="100%",
            align="start",
        ),
        rx.cond(KnowledgeState.can_manage, _upload_card()),
        _documents_card(),
        _search_card(),
        spacing="4",
        width="100%",
    )


def knowledge_page() -> rx.Component:
    new_button = rx.cond(
        KnowledgeState.can_build,
        rx.button(
            rx.icon("plus", size=16),
            t("new_index"),
            on_click=KnowledgeState.set_create_open(True),
            id="new-index",
        ),
    )
    return page_frame(
        page_title("knowledge_title", "knowledge_subtitle", new_button),
        rx.cond(
            KnowledgeState.indexes.length() == 0,
            rx.cond(
                KnowledgeState.loading,
                rx.center(rx.spinner(size="3"), padding="40px"),
                empty_state(
                    "library",
                    "knowledge_empty",
                    "knowledge_empty_hint",
                    new_button,
                ),
            ),
            rx.hstack(
                rx.vstack(
                    rx.foreach(KnowledgeState.indexes, _index_item),
                    width="240px",
                    min_width="240px",
                    spacing="2",
                ),
                rx.box(_index_detail(), flex="1", min_width="0"),
                align="start",
                spacing="4",
                width="100%",
            ),
        ),
        _create_dialog(),
        confirm_dialog(
            open_=KnowledgeState.confirm_kind != "",
            on_open_change=KnowledgeState.set_confirm_open,
            title=rx.cond(
                KnowledgeState.confirm_kind == "index", t("delete_index_title"), t("delete_document_title")
            ),
            body=(
                "„",
                KnowledgeState.confirm_name,
                "“: ",
                rx.cond(
                    KnowledgeState.confirm_kind == "index", t("delete_index_body"), t("delete_document_body")
                ),
            ),
            on_confirm=KnowledgeState.confirm_delete,
            busy=KnowledgeState.deleting,
        ),
    )
