import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Loaded at start, not by the first requests while customers wait (py-spy on a launch-day surge: a fresh
# worker spent its first seconds importing the task modules and reading the Zengin bank table, and
# workers restarted by max_requests paid it again mid-surge).
from core.broker import tasks_import  # noqa: E402
from core.zengin import bank_branch  # noqa: E402

tasks_import()
bank_branch("0001", "001")
