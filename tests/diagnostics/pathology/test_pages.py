"""The slides page: the sender sees the upload form and the viewer, the reader only the viewer,
a frozen section is marked, anyone else gets 404; a cookie upload needs the page's CSRF token."""

from __future__ import annotations

from tests.auth.conftest import login_as
from tests.diagnostics.pathology.conftest import pathology_order, slides_url
from tests.diagnostics.pathology.slide_files import micrograph


async def test_the_slides_page_for_each_party(client, world, db, dnet):
    order = await pathology_order(world, db, dnet, frozen_section=True, urgency="stat")
    url = f"/diagnosis/orders/{order.id}/slides"
    assert (await client.get(url)).status_code in (302, 303, 401)
    await login_as(client, db, dnet.outsider)
    assert (await client.get(url)).status_code == 404
    csrf = await login_as(client, db, dnet.sender)
    page = await client.get(url)
    assert page.status_code == 200
    assert 'data-testid="slide-upload"' in page.text and 'data-testid="slide-viewer"' in page.text
    assert 'data-testid="frozen-section"' in page.text and "/static/openseadragon/openseadragon.min.js" in page.text
    files = [("files", ("field.jpg", micrograph(), "image/jpeg"))]
    assert (await client.post(slides_url(order.id), files=files)).status_code == 403  # no CSRF token
    stored = await client.post(slides_url(order.id), files=files, headers={"X-CSRF-Token": csrf})
    assert stored.status_code == 201
    await login_as(client, db, dnet.reader)
    page = await client.get(url)
    assert 'data-testid="slide-upload"' not in page.text and 'data-testid="slide-viewer"' in page.text
