"""The provider APIs the sandbox serves: the one list that names them.

Each is a class with ``name``, ``prefix`` (the paths it answers), ``create_path`` (shown by
the health endpoint), ``status_field`` (where its task data says the status),
``serves_watermarks``, and ``handle(request)``, ``task_data(task)``,
``callback_message(task)`` and ``internal_error(message)``. A new provider is one module
and one line here.
"""

from __future__ import annotations

from .kling import KlingApi
from .piapi import PiApi

PROVIDER_APIS = (KlingApi, PiApi)
