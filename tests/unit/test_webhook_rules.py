"""Pure webhook rules: event type subscriptions, the retry schedule, the URLs and addresses endpoints may use, and
whether private networks are allowed by default."""

from __future__ import annotations

import random

import pytest

from app.errors import DomainError
from app.rules.webhooks import forbidden_address, parse_url, retry_delay, subscribed, subscriptions
from app.settings import Settings


def test_subscriptions_take_exact_types_families_and_everything():
    assert subscriptions(["producer.validated", "license.*", "*", "license.*"]) == [
        "producer.validated", "license.*", "*"]


def test_an_action_added_later_to_a_family_is_a_valid_event_type():
    assert subscriptions(["license.loaChanged", "complianceAlert.raised"]) == ["license.loaChanged",
                                                                              "complianceAlert.raised"]


@pytest.mark.parametrize("events", [["invoice.paid"], ["producer"], ["producer."], ["producer.Created"], [""]])
def test_an_unknown_or_malformed_event_type_is_refused(events):
    with pytest.raises(DomainError) as refused:
        subscriptions(events)
    assert refused.value.code == "WEBHOOK_EVENTS_INVALID" and refused.value.field == "events[0]"


def test_subscribed_matches_like_the_database_rule():
    assert subscribed(["license.*"], "license.renewed") and not subscribed(["license.*"], "producer.created")
    assert subscribed(["*"], "bulkJob.completed") and subscribed(["bulkJob.completed"], "bulkJob.completed")


def test_retry_delay_doubles_per_attempt_with_jitter_and_is_capped():
    rand = random.Random(7)
    delays = [retry_delay(n, 5, 3600, rand) for n in range(1, 20)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(3600, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 3600 and len({round(d, 6) for d in delays}) == len(delays)  # jittered


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "172.31.255.255", "192.168.1.1",
                                     "169.254.169.254", "fe80::1", "fc00::1", "0.0.0.0", "100.64.0.1",
                                     "::ffff:127.0.0.1", "224.0.0.1"])
def test_non_public_addresses_are_forbidden(address):
    assert forbidden_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not forbidden_address(address)


@pytest.mark.parametrize("url", ["ftp://example.com/", "javascript:alert(1)", "https://", "https://u:p@example.com/",
                                 "http://example.com:99999/", "example.com/hooks"])
def test_only_absolute_http_urls_with_a_host_are_endpoints(url):
    with pytest.raises(DomainError) as refused:
        parse_url(url)
    assert refused.value.code == "WEBHOOK_URL_INVALID"


def test_private_networks_are_refused_by_default_in_production_only():
    production = Settings(env="production", jwt_secret="x" * 32, ssn_key="ZGV2ZWxvcG1lbnQtc3NuLWtleS0zMi1ieXRlcy0wMDA=")
    assert production.webhook_private_networks_allowed is False
    assert Settings(env="development").webhook_private_networks_allowed is True
    assert Settings(env="test").webhook_private_networks_allowed is True
    assert Settings(env="development", webhook_allow_private_networks=False).webhook_private_networks_allowed is False
