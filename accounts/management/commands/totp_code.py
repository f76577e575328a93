from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current TOTP code of a user's device (demo machines only: DEBUG=1)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args: object, username: str, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("totp_code runs only with DEBUG=1: a real second factor lives on the user's phone.")
        device = TOTPDevice.objects.filter(user__username=username).order_by("-confirmed", "-pk").first()
        if device is None:
            raise CommandError(f"{username} has no TOTP device yet: log in once to see the enrolment page.")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
