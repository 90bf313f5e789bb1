"""Home-nursing pages: the patient's under /portal/nursing, staff's under /nursing."""

from __future__ import annotations

from carebridge.portal.home_nursing import admin_pages, patient_pages, staff_pages

routers = [patient_pages.router, admin_pages.router, staff_pages.router]
