"""create_app: the one place where everything is wired."""

from __future__ import annotations

import asyncio
import contextlib
import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import carebridge
from carebridge.config import Settings, get_settings
from carebridge.db import make_engine, make_sessionmaker
from carebridge.kit import i18n
from carebridge.kit.blobs import LocalBlobStore
from carebridge.notifications.channels import build_channels
from carebridge.web import errors
from carebridge.web.middleware import (
    BodySizeLimitMiddleware,
    LocaleMiddleware,
    PrefixCORSMiddleware,
    SecurityHeadersMiddleware,
)

STATIC_DIR = Path(__file__).parent / "web" / "static"
MULTIPART_OVERHEAD = 1024 * 1024
SLIDE_UPLOAD = re.compile(r"/api/v1/diagnosis/orders/\d+/slides")  # whole-slide images run to gigabytes
# STOW-RS and the order's DICOM upload take whole studies (diagnostics/imaging/stow.py).
DICOM_UPLOADS = (re.compile(r"/dicomweb/studies(/[0-9.]+)?"), re.compile(r"/api/v1/diagnosis/orders/[0-9]+/dicom"))


def _routers() -> list:
    from carebridge.access import api as access_api
    from carebridge.access import pages as access_pages
    from carebridge.analytics import api as analytics_api
    from carebridge.analytics import pages as analytics_pages
    from carebridge.audit import api as audit_api
    from carebridge.audit import pages as audit_pages
    from carebridge.auth import api as auth_api
    from carebridge.auth import pages as auth_pages
    from carebridge.consultations import api as consultations_api
    from carebridge.consultations import (
        coordination_api,
        coordination_pages,
        opinion_api,
        opinion_pages,
        room_api,
        room_pages,
    )
    from carebridge.consultations import pages as consultations_pages
    from carebridge.diagnostics import api as diagnostics_api
    from carebridge.diagnostics import pages as diagnostics_pages
    from carebridge.diagnostics import (
        quality_api,
        quality_pages,
        report_api,
        report_pages,
        worklist_api,
        worklist_pages,
    )
    from carebridge.diagnostics.ecg import api as ecg_api
    from carebridge.diagnostics.ecg import pages as ecg_pages
    from carebridge.diagnostics.imaging import api as imaging_api
    from carebridge.diagnostics.imaging import dicomweb, viewer_pages
    from carebridge.diagnostics.imaging import pages as imaging_pages
    from carebridge.diagnostics.imaging import stow as imaging_stow
    from carebridge.diagnostics.pathology import api as pathology_api
    from carebridge.diagnostics.pathology import pages as pathology_pages
    from carebridge.network import api as network_api
    from carebridge.network import pages as network_pages
    from carebridge.notifications import admin_pages as notification_admin_pages
    from carebridge.notifications import api as notifications_api
    from carebridge.notifications import live as notifications_live
    from carebridge.notifications import pages as notification_pages
    from carebridge.payments import api as payments_api
    from carebridge.payments import pages as payments_pages
    from carebridge.portal.accounts import api as portal_accounts_api
    from carebridge.portal.accounts import pages as portal_accounts_pages
    from carebridge.portal.delivery import api as delivery_api
    from carebridge.portal.delivery import pages as delivery_pages
    from carebridge.portal.delivery import pharmacy_pages as delivery_pharmacy_pages
    from carebridge.portal.home_nursing import api as home_nursing_api
    from carebridge.portal.home_nursing import pages as home_nursing_pages
    from carebridge.portal.pharmacy import api as pharmacy_api
    from carebridge.portal.pharmacy import pages as pharmacy_pages
    from carebridge.portal.pharmacy import portal_pages as pharmacy_portal_pages
    from carebridge.portal.test_appointments import api as test_appointments_api
    from carebridge.portal.test_appointments import pages as test_appointments_pages
    from carebridge.portal.test_appointments import staff_pages as test_appointments_staff_pages
    from carebridge.portal.visits import api as visits_api
    from carebridge.portal.visits import console_pages as visits_console
    from carebridge.portal.visits import pages as visits_pages
    from carebridge.realtime import api as realtime_api
    from carebridge.records import api as records_api
    from carebridge.records import pages as records_pages
    from carebridge.referrals import api as referrals_api
    from carebridge.referrals import pages as referrals_pages
    from carebridge.web import pages as shell_pages

    return [
        shell_pages.router, auth_pages.router, network_pages.router, records_pages.router,
        access_pages.router, audit_pages.router, notification_pages.router, referrals_pages.router,
        coordination_pages.router, consultations_pages.router,  # coordination first: /consultations/breaches
        opinion_pages.router, room_pages.router, diagnostics_pages.router,
        analytics_pages.router, analytics_api.router, worklist_pages.router, worklist_api.router,
        auth_api.router, network_api.router, records_api.router, access_api.router, audit_api.router,
        realtime_api.router, realtime_api.ws_router, referrals_api.router,
        coordination_api.router, consultations_api.router,  # coordination first: /api/v1/consultations/breaches
        opinion_api.router, room_api.router, diagnostics_api.router,
        pathology_api.router, pathology_api.media, pathology_pages.router, ecg_api.router, ecg_pages.router,
        dicomweb.router, viewer_pages.router, viewer_pages.api_router,
        notifications_api.router, notifications_live.ws_router, notification_admin_pages.router,
        imaging_api.router, imaging_stow.router, imaging_pages.router,
        report_pages.router, report_api.router, quality_pages.router, quality_api.router,
        payments_pages.router, payments_api.router,
        visits_pages.router, visits_console.router, visits_api.router,
        delivery_api.router, delivery_pages.router, delivery_pharmacy_pages.router,
        pharmacy_pages.router, pharmacy_portal_pages.router, pharmacy_api.router,
        home_nursing_api.router, *home_nursing_pages.routers,
        test_appointments_pages.router, test_appointments_staff_pages.router, test_appointments_api.router,
        portal_accounts_pages.router, portal_accounts_api.router,
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.require_secret()
    i18n.configure_default(settings.default_locale)
    engine = make_engine(settings.database_url)
    notify_channels = build_channels(settings)  # a bad channel setting stops start-up here

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        from carebridge.consultations.timers import run_timers
        from carebridge.diagnostics.tasks import run_completion
        from carebridge.notifications.tasks import run_dispatcher
        from carebridge.portal.visits.tasks import run_visit_timers
        from carebridge.realtime import publish
        from carebridge.realtime.api import hub_for

        # After-commit effects (notify()'s live push) hold a session, not the app: they find the hub here.
        def hub_source():  # noqa: ANN202
            return hub_for(_app)

        publish.install(hub_source)
        # Deliveries are written in the request's transaction; this loop sends them after commit.
        dispatcher = asyncio.create_task(run_dispatcher(_app.state, notify_channels))
        # Escalation of overdue consultations and session reminders (consultations/timers.py SWEEPS).
        timers = asyncio.create_task(run_timers(_app.state))
        # Quiet studies become complete and enter the worklist (diagnostics/tasks.py).
        completion = asyncio.create_task(run_completion(_app.state))
        # Visit reminders, unpaid holds, no-shows (portal/visits/tasks.py).
        visit_timers = asyncio.create_task(run_visit_timers(_app.state))
        yield
        visit_timers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await visit_timers
        completion.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await completion
        timers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timers
        dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatcher
        publish.uninstall(hub_source)
        hub = getattr(_app.state, "realtime_hub", None)  # created on first WebSocket join
        if hub is not None:
            await hub.close()
        await engine.dispose()

    app = FastAPI(title="CareBridge", version=carebridge.__version__, lifespan=lifespan,
                  docs_url="/docs", openapi_url="/api/v1/openapi.json")
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.blobs = LocalBlobStore(settings.blob_dir)
    errors.install(app)
    from carebridge.portal.pharmacy import delivery_source

    delivery_source.register()
    if settings.demo_mode:  # the demo's own dispensable refills (demo/delivery.py), never outside demo mode
        from carebridge.demo.delivery import register_demo_source

        register_demo_source()
    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.upload_max_bytes + MULTIPART_OVERHEAD,
                       larger=[(SLIDE_UPLOAD, settings.pathology_upload_max_bytes + MULTIPART_OVERHEAD),
                               *((path, settings.dicom_max_request_bytes) for path in DICOM_UPLOADS)])
    app.add_middleware(LocaleMiddleware)
    if settings.dicomweb_origins:
        app.add_middleware(PrefixCORSMiddleware, prefix="/dicomweb", origins=settings.dicomweb_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
