import pytest

from aftersales.integrations.addresses import AddressRefused, resolve, target


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",  # carrier-grade NAT
        # IPv6 forms carrying an IPv4 address a gateway translates to (outside probe)
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b:1::7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata service
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::]/",
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::7f00:1]/",
        "http://[fec0::1]/",  # site-local
        "http://192.0.0.8/",
        "http://192.88.99.1/",  # 6to4 relay anycast
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(AddressRefused, match="private or reserved"):
        resolve(url, allow_private=False)


def test_they_are_allowed_when_the_operator_says_so():
    assert resolve("http://127.0.0.1:9/hook", allow_private=True) == ["127.0.0.1"]


def test_a_public_address_is_allowed():
    assert resolve("https://93.184.215.14/hook", allow_private=False) == ["93.184.215.14"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http:///nohost",
        "https://user:pw@example.com/",
        "http://example.com:99999/",
        "x",
        "http://1.1.1.1/\r\nX-Injected: 1",
        "http://1.1.1.1/ x",
        "http://1.1.1.1/\x00",
    ],
)
def test_what_is_not_an_http_url_with_a_host_is_refused(url):
    with pytest.raises(AddressRefused):
        target(url)


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(AddressRefused, match="does not resolve"):
        resolve("http://no-such-host.invalid/", allow_private=False)
