from __future__ import annotations

import pytest
from sqlmodel import Session

from clerk_portal import migrations
from clerk_portal.db import engine_for
from clerk_portal.models import Workspace
from tests.support.browser import PageErrors, chromium
from tests.support.portal import start_portal

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    data = tmp_path_factory.mktemp("portal")
    database_url = f"sqlite:///{data / 'portal.db'}"
    migrations.upgrade(database_url)
    with Session(engine_for(database_url)) as session:
        session.add(Workspace(name="Acme Dental"))
        session.commit()
    running = start_portal(database_url=database_url, log_path=data / "portal.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = PageErrors(page)
    yield page
    context.close()
    errors.assert_none()
