"""WSGI entry point for gunicorn (and runserver, through ``WSGI_APPLICATION``)."""

import os

from django.core.wsgi import get_wsgi_application

from infra.gc_tuning import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticker_project.settings")
application = get_wsgi_application()
# The loaded app's heap stays out of every later collection (infra/gc_tuning.py).
freeze_startup_heap()
