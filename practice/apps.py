from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "practice"
    verbose_name = "Practice, payers and payer rules"

    def ready(self) -> None:
        from practice import access, notices

        access.connect()
        notices.connect()
