"""The provider APIs the sandbox serves: the one list that names them.

Each is a subclass of ``base.ProviderApi``: where its tasks live, which methods mean what,
and its own answers (authentication, endpoints, task data, callbacks, error envelope). A
new provider is one module and one line here.
"""

from __future__ import annotations

from .dashscope import DashScopeApi
from .fashn import FashnApi
from .kling import KlingApi
from .piapi import PiApi
from .vertex import VertexApi

PROVIDER_APIS = (KlingApi, PiApi, FashnApi, DashScopeApi, VertexApi)
