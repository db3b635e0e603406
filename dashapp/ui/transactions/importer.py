"""Importing a CSV: the upload, and the preview of what an import would do before anything is
stored (format found, rows, skipped rows, duplicates, every error with its row and column).
"""

from __future__ import annotations

import base64
import binascii

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.rules import LEDGER_FIELDS
from dashapp.services.ledger_import import ImportPreview
from dashapp.ui.transactions import ids
from dashapp.ui.transactions.messages import error_line, listed

PREVIEW_FIELDS = LEDGER_FIELDS
PREVIEW_ROWS = 200


def importer(max_bytes: int) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Upload(
                                id=ids.UPLOAD,
                                children=html.Div(
                                    [
                                        "Import a CSV: drop it here or ",
                                        html.A("choose a file", className="link-primary"),
                                        " (ours, Yahoo Finance's portfolio export or "
                                        "Ghostfolio's activities export; up to "
                                        f"{max_bytes / 1e6:g} MB).",
                                    ]
                                ),
                                className="ledger-upload border rounded p-2 small",
                                multiple=False,
                                # The browser neither reads nor sends a larger file;
                                # assets/ledger_upload.js says so in the note below.
                                max_size=max_bytes,
                            ),
                        ),
                        dbc.Col(
                            dbc.Button("Import", id=ids.IMPORT, color="primary", disabled=True),
                            md="auto",
                        ),
                    ],
                    className="g-2 align-items-center",
                ),
                html.Div(
                    id=ids.UPLOAD_REFUSED,
                    role="alert",
                    className="text-danger small",
                    **{"data-max-bytes": str(max_bytes)},
                ),
                html.Div(id=ids.PREVIEW, className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def uploaded_bytes(contents: object) -> bytes | None:
    """The file behind a dcc.Upload data URL ("data:<type>;base64,<data>")."""
    if not isinstance(contents, str) or "," not in contents:
        return None
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def preview_view(preview: ImportPreview) -> html.Div:
    """What the import would do, row by row, before anything is stored."""
    summary = [
        html.Strong(preview.filename or "The file"),
        f": {preview.format_label}, " if preview.format_label else ": ",
        f"{len(preview.rows):,} transactions",
        f", {len(preview.skipped)} rows skipped" if preview.skipped else "",
        ".",
    ]
    parts: list = [html.P(summary, className="mb-1", id=ids.PREVIEW_SUMMARY)]
    if preview.errors:
        parts.append(
            dbc.Alert(
                [
                    html.Strong("Nothing will be imported until these are fixed:"),
                    html.Ul(listed([error_line(e) for e in preview.errors]), className="mb-0"),
                ],
                color="danger",
                className="py-2",
                id=ids.PREVIEW_ERRORS,
            )
        )
    notes = [f"row {s.row}: skipped, {s.reason}" for s in preview.skipped]
    notes += [error_line(w) for w in preview.warnings]
    if notes:
        parts.append(html.Ul(listed(notes), className="small text-muted"))
    if preview.rows:
        head = html.Thead(html.Tr([html.Th(h) for h in ("row", *PREVIEW_FIELDS)]))
        body = html.Tbody(
            [
                html.Tr(
                    [
                        html.Td(item.row),
                        *(html.Td(str(getattr(item.draft, name) or "")) for name in PREVIEW_FIELDS),
                    ]
                )
                for item in preview.rows[:PREVIEW_ROWS]
            ]
        )
        parts.append(dbc.Table([head, body], size="sm", className="small", id=ids.PREVIEW_TABLE))
        if len(preview.rows) > PREVIEW_ROWS:
            parts.append(
                html.P(f"… and {len(preview.rows) - PREVIEW_ROWS:,} more.", className="small")
            )
    ready = "import-ready" if preview.can_import else "import-blocked"
    return html.Div(parts, className=ready)
