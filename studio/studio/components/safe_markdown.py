"""`safe_markdown`: Markdown from models and documents without raw HTML or remote images.

Reflex's `rx.markdown` enables raw HTML (rehype-raw) and loads every image, so an answer
written by a prompt-injected document could place HTML in the page or send data to any
host through an image URL. `SafeMarkdown` (`safe_markdown.jsx`, react-markdown, pinned
with the studio's other frontend packages) drops raw HTML, shows a placeholder for images
from other origins, and opens links in a new tab without a referrer.
"""

from __future__ import annotations

import reflex as rx

from studio.state.base import t

_SOURCE = rx.asset("safe_markdown.jsx", shared=True)


class SafeMarkdown(rx.Component):
    library = _SOURCE.importable_path
    tag = "SafeMarkdown"
    lib_dependencies: list[str] = ["react-markdown@10.1.0", "remark-gfm@4.0.1"]

    text: rx.Var[str]
    blocked_label: rx.Var[str]


def safe_markdown(text: rx.Var | str, **props: object) -> rx.Component:
    """`text` as Markdown, safely (see the module docstring)."""
    return SafeMarkdown.create(text=text, blocked_label=t("image_blocked"), **props)
