"""Evidence files as downloads, for the API and the pages alike: the owner or staff, 404 for anyone else."""

from django.contrib.auth.models import AnonymousUser
from django.http import FileResponse

from claims import evidence_files, selectors, services
from core.roles import is_staff_member
from core.types import User


def evidence_response(user: User | AnonymousUser, ref: str, evidence_id: int) -> FileResponse:
    """The stored file as an attachment; a staff member's download is written to the audit trail first."""
    claim = selectors.claim_for_user(user=user, ref=ref)
    item = selectors.evidence_get(user=user, claim=claim, evidence_id=evidence_id)
    if isinstance(user, User) and is_staff_member(user):
        services.evidence_access_record(actor=user, evidence=item)
    response = FileResponse(
        evidence_files.open_stored(item.storage_path),
        as_attachment=True,
        filename=item.file_name,
        content_type=item.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
