"""What can go wrong between socmon and an API, as specs a sandbox emulator serves one per call.

A `Fault` is a dict; the VK emulator keeps a queue of them (`emulator.faults`) and applies each to one
call. Keys, alone or together:

- `error_code` (optionally `error_msg`): that VK error instead of the answer;
- `http_status` (optionally `body`): that HTTP status with a plain-text body;
- `body`: HTTP 200 with that raw body (e.g. "not json");
- `truncated`: the real answer cut in half, as when a connection drops mid-body;
- `delay_seconds`: wait before answering (above the client's timeout, a timeout);
- `extra_items`: items appended to the answer's `items` (e.g. posts with missing or mistyped fields);
- `method`: only a call of that method takes this spec, inside `execute` too. A spec without `method`
  is taken by the next HTTP request, whatever it calls; `{}` is a call served normally.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any, TypedDict


class Fault(TypedDict, total=False):
    """One injected failure; see the module docstring."""

    error_code: int
    error_msg: str
    http_status: int
    body: str
    truncated: bool
    delay_seconds: float
    extra_items: list[Any]
    method: str


TRANSIENT_VK_ERRORS = (6, 9, 10)  # too many requests per second, flood control, internal server error
GATEWAY_STATUSES = (502, 503)


def take_fault(faults: deque[Fault], method: str, *, whole_request: bool) -> Fault:
    """Remove and return the first spec that applies to a call of `method` (`{}` when none does).

    A whole HTTP request takes a spec that names no method or names its method; a call inside
    `execute` takes only a spec that names its method.
    """
    for position, fault in enumerate(faults):
        named = fault.get("method")
        if named == method or (whole_request and named is None):
            del faults[position]
            return fault
    return {}


def transient_fault_mix(requests: int, share: float, *, timeout_seconds: float, seed: int = 7) -> list[Fault]:
    """`requests` specs of which `share` fail in every transient way a client must survive, shuffled.

    The failures cycle through VK errors 6, 9 and 10, HTTP 502 and 503, a delay of twice
    `timeout_seconds` (a read timeout), a non-JSON body, an HTML error page and a truncated answer; the
    other specs are `{}`. None names a method, so each is taken by one HTTP request in turn.
    """
    kinds: list[Fault] = [
        *(Fault(error_code=code) for code in TRANSIENT_VK_ERRORS),
        *(Fault(http_status=status) for status in GATEWAY_STATUSES),
        {"delay_seconds": 2 * timeout_seconds},
        {"body": "not json"},
        {"body": "<html><body>502 Bad Gateway</body></html>"},
        {"truncated": True},
    ]
    failing = max(1, round(requests * share))
    specs: list[Fault] = [kinds[i % len(kinds)].copy() for i in range(failing)]
    specs += [{} for _ in range(requests - failing)]
    random.Random(seed).shuffle(specs)
    return specs
