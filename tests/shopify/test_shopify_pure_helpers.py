"""Webhook signatures, shop domains, scope audit, OAuth callback checks, reprs."""

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest

from fulfillbridge.shopify import (
    AccessToken,
    ClientCredentials,
    ExpiringOfflineToken,
    InvalidShopDomain,
    OAuthError,
    OAuthInstall,
    StaticToken,
    all_needed_scopes,
    audit_scopes,
    callback_hmac,
    features_for,
    has_scope,
    how_to_grant,
    normalize_shop_domain,
    sign_webhook,
    verify_webhook,
)

BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'


def test_sign_matches_independent_hmac():
    expected = base64.b64encode(hmac.new(b"s3cret", BODY, hashlib.sha256).digest()).decode()
    assert sign_webhook(BODY, "s3cret") == expected


def test_verify_accepts_any_current_secret_and_rejects_tampering():
    sig = sign_webhook(BODY, "old-secret")
    assert verify_webhook(BODY, sig, ["new-secret", "old-secret"])
    assert not verify_webhook(BODY, sig, ["new-secret"])
    assert not verify_webhook(BODY + b" ", sig, ["old-secret"])
    assert not verify_webhook(BODY, "", ["old-secret"])
    assert not verify_webhook(BODY, None, ["old-secret"])
    assert not verify_webhook(BODY, sig, [])
    assert not verify_webhook(BODY, sig, [""])
    assert not verify_webhook(BODY, "ünïcode", ["old-secret"])


@pytest.mark.parametrize(
    "value",
    [
        "demo-shop",
        "demo-shop.myshopify.com",
        "https://demo-shop.myshopify.com/",
        "https://demo-shop.myshopify.com",
        "  Demo-Shop.MyShopify.com ",
    ],
)
def test_domain_accepted(value):
    assert normalize_shop_domain(value) == "demo-shop.myshopify.com"


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("", "not a valid shop name"),
        ("shop.example.com", "custom domains"),
        ("http://demo.myshopify.com", "not a shop address"),
        ("https://demo.myshopify.com/admin", "not a shop address"),
        ("https://evil.com/demo.myshopify.com", "not a shop address"),
        ("demo.myshopify.com.evil.com", "custom domains"),
        ("-demo", "not a valid shop name"),
        ("de mo", "not a valid shop name"),
        ("demo_shop", "not a valid shop name"),
        (".myshopify.com", "not a valid shop name"),
    ],
)
def test_domain_rejected_with_clear_message(value, hint):
    with pytest.raises(InvalidShopDomain, match=hint):
        normalize_shop_domain(value)


def test_scope_audit():
    granted = ["read_orders", "write_fulfillments", "write_assigned_fulfillment_orders"]
    audits = {a.feature: a for a in audit_scopes(granted)}
    assert audits["orders"].ok
    assert audits["fulfillment_requests"].ok  # write implies read
    assert not audits["fulfillment_service"].ok
    assert audits["fulfillment_service"].missing == ("read_locations",)
    assert audits["inventory_sync"].missing == (
        "write_inventory",
        "read_products",
        "read_locations",
    )
    assert has_scope(["write_inventory"], "read_inventory")
    assert not has_scope(["read_inventory"], "write_inventory")
    everything = audit_scopes(all_needed_scopes())
    assert all(a.ok for a in everything)
    assert "write_fulfillments" in all_needed_scopes()


def test_features_follow_the_store_mode_and_returns():
    service = {f.name for f in features_for("fulfillment_service")}
    merchant = {f.name for f in features_for("order_management")}
    assert "fulfillment_requests" in service and "merchant_managed_fulfillment" not in service
    assert "merchant_managed_fulfillment" in merchant and "fulfillment_service" not in merchant
    assert "returns" not in service | merchant
    assert "returns" in {f.name for f in features_for("order_management", returns=True)}
    assert "write_returns" not in all_needed_scopes(features_for())
    assert "write_returns" in all_needed_scopes(features_for(returns=True))
    with pytest.raises(ValueError, match="unknown store mode 'dropship'"):
        features_for("dropship")


def test_scope_audit_matches_a_captured_development_store_grant():
    # Scopes of the app on the development store in the webhook-subscription capture.
    import json
    from pathlib import Path

    capture = json.loads(
        (
            Path(__file__).resolve().parents[1]
            / "fixtures/captures/2026-04_webhooks_webhook-subscription-conformance.json"
        ).read_text()
    )
    scopes = [
        s["handle"]
        for s in capture["schemaAndAccess"]["response"]["payload"]["data"][
            "currentAppInstallation"
        ]["accessScopes"]
    ]
    audits = {a.feature: a for a in audit_scopes(scopes)}
    assert audits["fulfillment_service"].ok
    assert audits["fulfillment_requests"].ok


def test_how_to_grant_mentions_scopes_and_reauthorisation():
    text = how_to_grant(["write_inventory", "read_products"])
    assert "read_products, write_inventory" in text
    assert "Dev Dashboard" in text and "install" in text.lower()
    assert how_to_grant([]).startswith("All needed")


def _install():
    return OAuthInstall(
        client_id="cid",
        client_secret="hush-hush-secret",
        scopes=("read_orders", "write_fulfillments"),
        redirect_uri="https://bridge.example/auth/callback",
    )


def test_install_link():
    link = _install().authorize_url("demo-shop")
    parts = urlsplit(link.url)
    assert parts.netloc == "demo-shop.myshopify.com"
    assert parts.path == "/admin/oauth/authorize"
    query = parse_qs(parts.query)
    assert query["client_id"] == ["cid"]
    assert query["scope"] == ["read_orders,write_fulfillments"]
    assert query["state"] == [link.state]
    assert query["redirect_uri"] == ["https://bridge.example/auth/callback"]
    assert len(link.state) >= 20
    assert _install().authorize_url("demo-shop").state != link.state
    sandbox = _install().authorize_url("demo-shop", base_url="http://127.0.0.1:9/shops/x/")
    assert sandbox.url.startswith("http://127.0.0.1:9/shops/x/admin/oauth/authorize?")


def _signed(params, secret="hush-hush-secret"):
    return {**params, "hmac": callback_hmac(params, secret)}


def test_callback_hmac_known_vector():
    params = {"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
              "state": "0.6784241404160823", "timestamp": "1337178173"}  # fmt: skip
    message = "&".join(f"{k}={params[k]}" for k in sorted(params))
    expected = hmac.new(b"hush-hush-secret", message.encode(), hashlib.sha256).hexdigest()
    assert callback_hmac({**params, "hmac": "ignored"}, "hush-hush-secret") == expected


def test_verify_callback_checks_hmac_state_shop_code():
    install = _install()
    good = _signed({"code": "c0de", "shop": "demo-shop.myshopify.com", "state": "st8",
                    "timestamp": "1700000000", "host": "YWRtaW4"})  # fmt: skip
    result = install.verify_callback(good, expected_state="st8")
    assert (result.shop, result.code, result.state) == ("demo-shop.myshopify.com", "c0de", "st8")

    with pytest.raises(OAuthError, match="hmac does not match"):
        install.verify_callback({**good, "code": "other"}, expected_state="st8")
    with pytest.raises(OAuthError, match="no hmac"):
        install.verify_callback(
            {k: v for k, v in good.items() if k != "hmac"}, expected_state="st8"
        )
    with pytest.raises(OAuthError, match="state does not match"):
        install.verify_callback(good, expected_state="other")
    with pytest.raises(OAuthError, match="hmac does not match"):
        install.verify_callback(_signed(good, secret="wrong"), expected_state="st8")
    bad_shop = _signed({"code": "c", "shop": "evil.com", "state": "st8"})
    with pytest.raises(OAuthError, match="shop is invalid"):
        install.verify_callback(bad_shop, expected_state="st8")
    no_code = _signed({"shop": "demo-shop.myshopify.com", "state": "st8"})
    with pytest.raises(OAuthError, match="no code"):
        install.verify_callback(no_code, expected_state="st8")


def test_token_from_response_and_expiry():
    token = AccessToken.from_response(
        {"access_token": "shpat_abcdefghijklmnop", "scope": "read_orders,write_inventory",
         "expires_in": 86399}, now=1000.0)  # fmt: skip
    assert token.scopes == ("read_orders", "write_inventory")
    assert token.expires_at == 1000.0 + 86399
    assert not token.expires_within(300, 1000.0)
    assert token.expires_within(300, 1000.0 + 86399 - 299)
    with pytest.raises(OAuthError, match="no access_token"):
        AccessToken.from_response({"scope": ""}, now=0)


def test_reprs_hide_secrets():
    token = AccessToken("shpat_abcdefghijklmnop", refresh_token="shprt_zyxwvutsrqponm")
    install = _install()
    things = [
        StaticToken("shpat_abcdefghijklmnop"),
        ClientCredentials("cid", "hush-hush-secret"),
        install,
        token,
        ExpiringOfflineToken("demo-shop", token, install),
    ]
    for thing in things:
        text = repr(thing) + str(thing)
        assert "abcdefghijklmnop" not in text
        assert "hush-hush-secret" not in text
        assert "zyxwvutsrqponm" not in text
