"""What a benchmark makes and counts in the shop's database: a garment, the runner's own
queries, and the machine it ran on (for the report)."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_garment(name: str = "Bench tee", size: int = 600):
    """One active upper garment with a generated PNG (reused by every benchmark)."""
    from django.core.files.base import ContentFile

    from django_tryon.models import Garment

    from . import imagegen

    garment = Garment.objects.filter(name=name).first()
    if garment is None:
        garment = Garment(name=name, category="upper", sku=f"bench-{size}")
        garment.image.save("garment.png", ContentFile(imagegen.garment(size)), save=True)
    return garment


class QueryCounter:
    """Count the runner's own queries (``with QueryCounter() as q: ...; q.count``).

    ``quota`` counts those of the quota bookkeeping: statements on the usage counters
    and the savepoint around them.
    """

    def __init__(self):
        self.count = 0
        self.quota = 0
        self._cm = None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if "usagecounter" in sql or sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            self.quota += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        from django.db import connection

        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)


def shopper_tryon(garment, person, owner_key: str):
    """One shopper's try-on through the pipeline, as the API makes it: (request, created)."""
    from django_tryon import services
    from django_tryon.callers import Caller

    caller = Caller(source="api", owner_key=owner_key, consented=True)
    return services.create_tryon(garment=garment, person_image=person, caller=caller)


def machine_info() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python, Django, Celery (DB and broker are added by the runner)."""
    import celery
    import django
    import PIL

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "pillow": PIL.__version__,
    }
