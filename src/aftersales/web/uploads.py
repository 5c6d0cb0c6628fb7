"""Files a console form carried, stored as evidence inside the form's own transaction: if the
form's use case is refused, the rows roll back with it and the sweeper (or the upload's own
abort hook) takes the bytes, so a refused form leaves nothing behind."""

from __future__ import annotations

from typing import Any

from ..domain.actions import EvidenceIds
from ..domain.errors import ValidationFailed
from ..services import evidence
from . import forms
from .session import Viewer

MOST = EvidenceIds().max_items  # the most any evidence field takes


def store(
    uow: Any, env: Any, viewer: Viewer, files: list[Any], kind: str = "product_media", most: int = MOST
) -> list[str]:
    """The evidence ids of the files chosen in a file input (empty inputs send a nameless part).
    More files than the field takes are refused before one is stored: a form of a thousand files
    costs no thousand uploads only to be refused by the field's bound afterwards."""
    chosen = [f for f in files if hasattr(f, "read") and f.filename]
    if len(chosen) > most:
        raise ValidationFailed(f"at most {most} files", fields=["evidence"])
    out = []
    for upload in chosen:
        stored = evidence.upload(uow, env, viewer.actor, kind=kind, stream=upload.file, filename=upload.filename)
        out.append(stored["id"])
    return out


def for_spec(uow: Any, env: Any, viewer: Viewer, form: Any, spec: Any) -> dict[str, list[str]]:
    """Files attached to an action form's evidence fields (beside each, its upload input), by field."""
    out: dict[str, list[str]] = {}
    for f in forms.fields(spec):
        if f.widget == "evidence":
            # What the person said the files are (a voucher, a chat record...); the service
            # refuses a kind it does not know.
            kind = str(form.get(forms.UPLOAD_KIND.format(f.name)) or "product_media")
            stored = store(uow, env, viewer, form.getlist(forms.UPLOAD.format(f.name)), kind, f.maximum or MOST)
            if stored:
                out[f.name] = stored
    return out
