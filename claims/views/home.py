"""The site's front door: each role goes to its own start page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.roles import Role, has_role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff to the review queue, customers to their claims, regulators to their portal."""
    if has_role(request.user, Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        return redirect("claims:staff-claim-list")
    if has_role(request.user, Role.CUSTOMER):
        return redirect("claims:customer-home")
    if has_role(request.user, Role.REGULATOR):
        return redirect("audit:regulator-home")
    return render(request, "home.html")
