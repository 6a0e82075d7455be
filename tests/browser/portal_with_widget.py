"""The portal with the widget blueprint registered, for the browser tests.

Used only while ``create_app`` does not register the widget blueprint yet: the ``portal``
fixture then swaps the stack's portal process for this one (same port, same environment).
Run: ``python -m tests.browser.portal_with_widget``.
"""

from __future__ import annotations

import settings as settings_module
from feedback_store.portal.app import create_app
from feedback_store.portal.widget_routes import create_widget_blueprint


def main() -> None:
    settings = settings_module.load()
    app = create_app(settings)
    if "widget" not in app.blueprints:
        app.blueprint(create_widget_blueprint())
    app.run(host=settings.host, port=settings.portal_port, access_log=False)


if __name__ == "__main__":
    main()
