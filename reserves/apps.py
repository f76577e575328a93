from django.apps import AppConfig


class ReservesConfig(AppConfig):
    name = "reserves"
    verbose_name = "Reserves and payouts"
