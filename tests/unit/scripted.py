"""A scripted provider for adapter unit tests: answers each request with the next queued
response (an unexpected request fails the test) and records what it was sent. Used as
``httpx.MockTransport(scripted)``."""

from __future__ import annotations

import json

import httpx


class Scripted:
    def __init__(self, *responses: httpx.Response):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.responses:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self.responses.pop(0)

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index].content)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))
