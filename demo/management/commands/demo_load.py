import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.claims import demo_load
from demo.logins import logins_box


class Command(BaseCommand):
    help = "Load demo data (logins for every role, an incident open for claims). Demo machines only."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")
        parser.add_argument("--url", default=settings.PUBLIC_BASE_URL, help="the site's URL, printed with the logins")
        parser.add_argument(
            "--logins-file", default="", help="write the logins box to this file instead of printing it (make run)"
        )

    def handle(self, *args: object, force: bool, url: str, logins_file: str, **options: object) -> None:
        if not (settings.DEBUG or force):
            raise CommandError("demo_load sets known passwords; it runs only with DEBUG=1 (or --force).")
        if int(str(options.get("verbosity", 1))) < 2:
            # In-process tasks log every success at INFO: hundreds of lines nobody reads.
            logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        logins = demo_load()
        mail_dir = (
            getattr(settings, "EMAIL_FILE_PATH", "")
            if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend")
            else ""
        )
        box = logins_box(logins, url, mail_dir=str(mail_dir))
        if logins_file:
            Path(logins_file).write_text(box + "\n", encoding="utf-8")
            self.stdout.write(f"Demo data loaded; the logins are in {logins_file}.")
        else:
            self.stdout.write(box)
