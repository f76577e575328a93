import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.export import trail_export
from audit.log.append import tree_head
from audit.signing import SigningKeyMissing


class Command(BaseCommand):
    help = (
        "Write the audit log to DIR (manifest.json, events.jsonl, checkpoints.jsonl, public_key.pem, keys/, "
        "witnesses.txt) for `python audit/offline_verify.py DIR`."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        size, _ = tree_head()
        try:
            with tqdm(total=size, unit="event", desc="exporting", file=sys.stderr) as bar:
                result = trail_export(directory=directory, progress=bar.update)
        except SigningKeyMissing as exc:
            raise CommandError(f"{exc.detail} (an export's manifest is signed)") from exc
        self.stdout.write(
            f"Exported {result.events} events (tree size {result.tree_size}), {result.checkpoints} checkpoints "
            f"and {result.keys} keys to {directory}. Verify: python audit/offline_verify.py {directory}"
        )
