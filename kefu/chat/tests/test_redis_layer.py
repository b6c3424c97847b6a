"""With KEFU_REDIS_URL, conversations cross server processes through Redis (channels-redis)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set KEFU_TEST_REDIS_URL to a Redis server (CI does)")


def test_a_group_message_reaches_a_consumer_on_another_layer_instance():
    """Two layer instances (the layer the settings choose with KEFU_REDIS_URL) stand for two
    server processes sharing one Redis."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    async def scenario() -> dict:
        sender = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix="kefu-test")
        receiver = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix="kefu-test")
        channel = await receiver.new_channel()
        await receiver.group_add("chat.test-conversation", channel)
        await sender.group_send("chat.test-conversation", {"type": "chat.message", "text": "你好"})
        try:
            return await asyncio.wait_for(receiver.receive(channel), timeout=10)
        finally:
            await receiver.group_discard("chat.test-conversation", channel)
            await sender.flush()  # unsubscribes and closes the connections
            await receiver.flush()

    # On a thread of its own: Playwright's sync API keeps an event loop registered on the test's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        message = pool.submit(asyncio.run, scenario()).result(timeout=30)
    assert message == {"type": "chat.message", "text": "你好"}


def test_rate_limits_are_shared_through_the_redis_cache(settings):
    """Login and code limits count across processes when the cache is Redis."""
    from django.core.cache import caches

    from kefu.accounts import ratelimit

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    caches["default"].clear()
    try:
        results = [ratelimit.hit("test-scope", "alice", limit=2, window=60) for _ in range(3)]
        assert results == [True, True, False]
    finally:
        caches["default"].clear()
