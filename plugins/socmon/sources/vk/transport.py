"""VK's transport: the HTTP session vk_api sends through, and fast decoding of its answers.

Every request gets a timeout and may go to another API host (the sandbox); answers decode with msgspec
while the garbage collector is paused. vk_api's own retry of error 6 is switched off: the client
(`socmon.sources.vk.client`) retries within its budget.
"""

from __future__ import annotations

from typing import Any

import msgspec
import requests
import vk_api
from requests.adapters import HTTPAdapter
from vk_api.exceptions import ApiError

from socmon.garbage_collector import garbage_collector_paused

API_VERSION = "5.199"
VK_API_URL = "https://api.vk.ru"


class VkResponse(requests.Response):
    """An answer whose `json()` (which vk_api calls) decodes fast.

    An `execute` of 25 full pages is a 2 MB body of some 100,000 objects, and decoding is most of a
    reader's CPU. msgspec takes half the time the standard library does, and the garbage collector is
    paused meanwhile: a decoded tree has no reference cycles, and the collections its allocations would
    trigger also walk the posts read before. Bodies msgspec refuses but `json` reads (a lone surrogate
    in a text) still decode as before.
    """

    def json(self, **kwargs: Any) -> Any:
        with garbage_collector_paused:
            try:
                return msgspec.json.decode(self.content)
            except msgspec.DecodeError:
                return super().json(**kwargs)


class VkTransport(HTTPAdapter):
    """Gives every request a timeout, sends it to another API host (the sandbox) when asked, and decodes
    answers with msgspec (`VkResponse`)."""

    def __init__(self, api_url: str = VK_API_URL, timeout: float = 30.0) -> None:
        super().__init__(max_retries=0)
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if self.api_url != VK_API_URL and request.url.startswith(VK_API_URL):
            request.url = self.api_url + request.url[len(VK_API_URL) :]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)

    def build_response(self, req, resp):  # type: ignore[no-untyped-def]
        response = super().build_response(req, resp)
        response.__class__ = VkResponse
        return response


class _VkApiWithoutOwnRetry(vk_api.VkApi):
    """vk_api retries error 6 forever and sleeps a fixed RPS_DELAY; socmon's budget and buckets do both."""

    RPS_DELAY = 0.0

    def too_many_rps_handler(self, error: ApiError) -> None:
        return None


def vk_session(token: str, api_url: str, timeout_seconds: float) -> vk_api.VkApi:
    session = requests.Session()
    transport = VkTransport(api_url, timeout_seconds)
    session.mount("https://", transport)
    session.mount("http://", transport)
    return _VkApiWithoutOwnRetry(token=token, api_version=API_VERSION, session=session)
