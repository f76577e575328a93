import sys
from pathlib import Path

from django.core.management.base import BaseCommand
from tqdm import tqdm

from audit.export import trail_export
from audit.models import ChainHead


class Command(BaseCommand):
    help = (
        "Write the audit trail to DIR (events.jsonl, checkpoints.jsonl, public_key.pem, keys/) "
        "for `python audit/offline_verify.py DIR`."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        head = ChainHead.objects.filter(pk=1).first()
        with tqdm(total=head.seq if head else 0, unit="event", desc="exporting", file=sys.stderr) as bar:
            result = trail_export(directory=directory, progress=bar.update)
        self.stdout.write(
            f"Exported {result.events} events (head #{result.head_seq}), {result.checkpoints} checkpoints "
            f"and {result.keys} keys to {directory}. Verify: python audit/offline_verify.py {directory}"
        )
