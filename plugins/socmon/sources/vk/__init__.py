"""VKontakte, in three layers a newcomer can read one at a time:

- `transport`: the HTTP session vk_api sends through (timeouts, the sandbox's host, fast decoding);
- `client`: API calls over a pool of tokens, batched into `execute`, rate-limited and retried;
- `extractor` (with `walls`, the paging of one wall): walls, comments, deletions, searches, metadata.
"""

from socmon.sources.vk.client import MAX_CALLS_PER_EXECUTE, VkAnswer, VkCall, VkClient, VkError
from socmon.sources.vk.extractor import VkExtractor
from socmon.sources.vk.transport import API_VERSION, VK_API_URL, VkTransport
from socmon.sources.vk.walls import PAGE_SIZE

__all__ = [
    "API_VERSION",
    "MAX_CALLS_PER_EXECUTE",
    "PAGE_SIZE",
    "VK_API_URL",
    "VkAnswer",
    "VkCall",
    "VkClient",
    "VkError",
    "VkExtractor",
    "VkTransport",
]
