/*
 * SafeMarkdown: Markdown from models and documents, rendered without what an injected
 * prompt could abuse.
 *
 *   - Raw HTML is dropped (no rehype-raw, `skipHtml`): `<script>`, `<img onerror>`,
 *     `<b onmouseover>` never become elements.
 *   - Images load only from this origin or from `data:` URLs. A remote image would send
 *     whatever its URL carries (a secret from the context, say) to its host the moment
 *     the answer is shown; it becomes a placeholder „[Bild blockiert: host]“ instead.
 *   - Links open in a new tab with rel="noopener noreferrer"; react-markdown's own
 *     `urlTransform` already drops `javascript:` and other unsafe protocols.
 *
 * Props: `text` (the Markdown), `blockedLabel` (the placeholder's word, in the person's
 * language).
 */
import React from "react";
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";

export function allowedImage(src) {
  if (typeof src !== "string" || src === "") return false;
  if (/^data:image\/(png|jpe?g|gif|webp);/i.test(src)) return true;
  try {
    return new URL(src, window.location.href).origin === window.location.origin;
  } catch (error) {
    return false;
  }
}

function hostOf(src) {
  try {
    return new URL(src, window.location.href).host || String(src);
  } catch (error) {
    return String(src).slice(0, 60);
  }
}

// A rehype plugin: rewrites the tree before React sees it, so blocked images are never
// elements with a `src` at any point.
function guard(options) {
  const label = (options && options.blockedLabel) || "Bild blockiert";
  const visit = (node) => {
    if (!node || !Array.isArray(node.children)) return;
    node.children = node.children.map((child) => {
      if (child.type !== "element") return child;
      if (child.tagName === "img") {
        const src = child.properties ? child.properties.src : undefined;
        if (!allowedImage(src)) {
          return {
            type: "element",
            tagName: "span",
            properties: { className: ["blocked-image"], title: String(src || "") },
            children: [{ type: "text", value: `[${label}: ${hostOf(src)}]` }],
          };
        }
      }
      if (child.tagName === "a") {
        child.properties = { ...(child.properties || {}), target: "_blank", rel: "noopener noreferrer" };
      }
      visit(child);
      return child;
    });
  };
  return (tree) => visit(tree);
}

export function SafeMarkdown({ text, blockedLabel, className }) {
  return (
    <div className={["safe-markdown", className].filter(Boolean).join(" ")}>
      <Markdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[[guard, { blockedLabel }]]}
        skipHtml={true}
      >
        {String(text ?? "")}
      </Markdown>
    </div>
  );
}
