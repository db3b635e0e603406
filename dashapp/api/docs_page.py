"""`/api/docs`: the OpenAPI document as one self-contained HTML page.

No Swagger UI: the one PyPI package that ships its assets without a framework around it
(swagger-ui-bundle 1.1.0) carries Swagger UI 4, which cannot read OpenAPI 3.1, and a CDN is not
an option for an app that runs offline. The page lists each operation with its parameters,
body and answers, and every schema once, linked by name. Every text is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 64rem; padding: 1rem;
       color: #1d2327; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccd0d4; margin-top: 2rem; }
section.operation { border: 1px solid #ccd0d4; border-radius: 6px; margin: 0.8rem 0;
                    padding: 0.4rem 0.8rem; }
.method { display: inline-block; min-width: 4.2rem; font-weight: 700; text-transform: uppercase; }
.get { color: #0b6b2b; } .post { color: #0a4f9e; } .put, .patch { color: #8a5300; }
.delete { color: #a11d1d; }
code, pre { font: 13px/1.4 ui-monospace, monospace; } pre { background: #f3f4f5; padding: 0.5rem;
            overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #e1e4e6; padding: 0.2rem
       0.6rem 0.2rem 0; text-align: left; vertical-align: top; }
"""


def render_docs(document: dict[str, Any]) -> str:
    info = document["info"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No icon request: /favicon.ico is not one of the app's addresses (it answers 404).
        '<link rel="icon" href="data:,">',
        f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>",
        f"<main><h1>{escape(info['title'])}</h1>",
        f"<p>Version {escape(info['version'])}, OpenAPI {escape(document['openapi'])}. "
        '<a href="/api/openapi.json">openapi.json</a></p>',
        f"<p>{escape(info['description'])}</p>",
    ]
    for tag in document["tags"]:
        parts.append(f"<h2>{escape(tag['name'].capitalize())}</h2>")
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                if tag["name"] in operation["tags"]:
                    parts.append(_operation(method, path, operation))
    parts.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        parts.append(
            f'<section id="schema-{escape(name)}"><h3>{escape(name)}</h3>{_json(schema)}</section>'
        )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    anchor = escape(operation["operationId"])
    rows = [
        f'<section class="operation" id="{anchor}" aria-label="{escape(method.upper())} '
        f'{escape(path)}"><h3><span class="method {escape(method)}">{escape(method)}</span> '
        f"<code>{escape(path)}</code></h3><p>{escape(operation['summary'])}</p>"
    ]
    parameters = operation.get("parameters", [])
    if parameters:
        rows.append("<table><tr><th>parameter</th><th>in</th><th>schema</th></tr>")
        rows += [
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{_schema_text(p['schema'])}</td></tr>"
            for p in parameters
        ]
        rows.append("</table>")
    body = operation.get("requestBody")
    if body:
        for media, content in body["content"].items():
            rows.append(f"<p>Body ({escape(media)}): {_schema_text(content['schema'])}</p>")
    rows.append("<table><tr><th>status</th><th>answer</th><th>body</th></tr>")
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        shape = "; ".join(
            f"{escape(media)} {_schema_text(item['schema'])}" for media, item in content.items()
        )
        rows.append(
            f"<tr><td>{escape(status)}</td><td>{escape(response['description'])}</td>"
            f"<td>{shape}</td></tr>"
        )
    rows.append("</table></section>")
    return "".join(rows)


def _schema_text(schema: dict[str, Any]) -> str:
    """A schema in one line: references become links to the schema's section."""
    if "$ref" in schema:
        name = escape(schema["$ref"].rsplit("/", 1)[-1])
        return f'<a href="#schema-{name}">{name}</a>'
    if schema.get("type") == "array" and "items" in schema:
        return f"list of {_schema_text(schema['items'])}"
    if "anyOf" in schema:
        return " or ".join(_schema_text(option) for option in schema["anyOf"])
    return f"<code>{escape(json.dumps(schema, sort_keys=True))}</code>"


def _json(schema: dict[str, Any]) -> str:
    return f"<pre>{escape(json.dumps(schema, indent=2, sort_keys=True))}</pre>"
