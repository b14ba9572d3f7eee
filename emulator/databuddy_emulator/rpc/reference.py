"""``GET /``: a self-contained HTML API reference rendered server-side from the spec."""

from __future__ import annotations

from functools import cache
from html import escape
from typing import Any

from .openapi import TAG_DESCRIPTIONS, build_spec

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#0b1020;
color:#e5e7eb;line-height:1.45}
header{padding:24px 32px;background:#111833;border-bottom:1px solid #1f2a4d}
main{display:flex}nav{width:240px;padding:16px 24px;position:sticky;top:0;align-self:flex-start;
max-height:100vh;overflow:auto}nav a{display:block;color:#93c5fd;text-decoration:none;
padding:2px 0}article{flex:1;padding:16px 32px;max-width:1100px}
section.tag{margin-bottom:40px}.op{background:#111833;border:1px solid #1f2a4d;border-radius:8px;
padding:12px 16px;margin:12px 0}.method{background:#2563eb;color:#fff;border-radius:4px;
padding:1px 6px;font-size:12px;font-weight:700;margin-right:8px}code{color:#fbbf24}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
td,th{border-bottom:1px solid #1f2a4d;text-align:left;padding:3px 6px;vertical-align:top}
.auth{font-size:12px;color:#a5b4fc;margin-left:8px}.muted{color:#9ca3af}
"""


def _type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    if schema.get("enum"):
        kind += ": " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        kind += f" = {schema['const']}"
    if kind == "array" and "items" in schema:
        kind = f"array of {_type(schema['items'])}"
    return str(kind)


def _rows(schema: dict[str, Any], prefix: str = "") -> list[tuple[str, str, bool]]:
    """(dotted field name, type, required) for every property, depth first."""
    if schema.get("type") == "array" or (
        isinstance(schema.get("type"), list) and "array" in schema["type"]
    ):
        return _rows(schema.get("items", {}), prefix + "[]")
    out: list[tuple[str, str, bool]] = []
    required = set(schema.get("required", []))
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        out.append((path, _type(sub), name in required))
        if sub.get("properties") or sub.get("items", {}).get("properties"):
            out.extend(_rows(sub, path))
    return out


def _table(title: str, schema: dict[str, Any] | None) -> str:
    if not schema:
        return f"<p class='muted'>{title}: none</p>"
    rows = _rows(schema)
    if not rows:
        return f"<p class='muted'>{title}: {escape(_type(schema))}</p>"
    body = "".join(
        f"<tr><td><code>{escape(n)}</code>{'' if r else ' <span class=muted>?</span>'}"
        f"</td><td>{escape(t)}</td></tr>"
        for n, t, r in rows
    )
    return f"<h4>{title}</h4><table><tr><th>field</th><th>type</th></tr>{body}</table>"


def _anchor(tag: str) -> str:
    return "tag-" + "".join(c if c.isalnum() else "-" for c in tag.lower())


@cache
def render_reference() -> str:
    spec = build_spec()
    by_tag: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        op = item["post"]
        by_tag.setdefault(op["tags"][0], []).append((path, op))
    sections, links = [], []
    for tag in spec.get("x-tag-order") or list(by_tag):
        ops = by_tag.get(tag, [])
        links.append(f"<a href='#{_anchor(tag)}'>{escape(tag)}</a>")
        parts = [f"<section class='tag' id='{_anchor(tag)}'><h2>{escape(tag)}</h2>"]
        if tag in TAG_DESCRIPTIONS:
            parts.append(f"<p class='muted'>{escape(TAG_DESCRIPTIONS[tag])}</p>")
        for path, op in ops:
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            out = op["responses"]["200"]["content"]["application/json"]["schema"]
            scopes = op.get("x-required-scopes")
            parts.append(
                f"<div class='op' id='{escape(op['operationId'])}'><span class='method'>POST"
                f"</span><code>{escape(path)}</code><span class='auth'>auth: "
                f"{escape(op['x-auth'])}"
                f"{' · scopes: ' + escape(', '.join(scopes)) if scopes else ''}</span>"
                f"<p>{escape(op.get('summary') or '')}</p>"
                f"{_table('Input', body.get('schema'))}{_table('Output', out)}</div>"
            )
        parts.append("</section>")
        sections.append("".join(parts))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Databuddy API</title><meta name='viewport' content='width=device-width'>"
        f"<style>{STYLE}</style></head><body><header><h1>Databuddy API</h1>"
        f"<p class='muted'>Version {escape(spec['info']['version'])} · server "
        f"<code>{escape(spec['servers'][0]['url'])}</code> · authenticate with the "
        "<code>x-api-key</code> header · machine-readable spec at "
        "<a href='/spec.json'>/spec.json</a></p></header><main><nav>"
        f"{''.join(links)}</nav><article>{''.join(sections)}</article></main></body></html>"
    )
