"""Carriers as Shopify knows them, as the operation writes them, and as labels are bought.

Shopify builds a clickable tracking link only for the tracking companies it recognises, and
only when the name is written exactly its way ("FedEx", not "fedex"); for any other company
the bridge sends the link itself, from the store's template for that carrier. One Shopify
fulfillment carries one company, so packages of different carriers become one fulfillment
each (:func:`by_company`). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fulfillbridge.core.errors import FulfillbridgeError, ShippingErrorCode


class ShippingError(FulfillbridgeError):
    """Shipping input that cannot be used; the message names the problem."""

    default_code = ShippingErrorCode.INVALID


# Names from Shopify's list of supported tracking companies (FulfillmentTrackingInfo.company,
# Admin API 2026-07), with the spellings operations commonly use for each. The keys are
# compared without case, spaces, dots, dashes or underscores.
SHOPIFY_COMPANIES: dict[str, tuple[str, ...]] = {
    "4PX": ("4px",),
    # Shopify lists these for shops in India (the Indian aggregators' couriers); unconfirmed
    # against the current reference, see docs/shipping.md.
    "Bluedart": ("bluedart", "bluedartexpress"),
    "Delhivery": ("delhivery",),
    "DTDC": ("dtdc",),
    "Ecom Express": ("ecomexpress", "ecom"),
    "Ekart": ("ekart", "ekartlogistics"),
    "India Post": ("indiapost", "speedpost"),
    "Professional Couriers": ("professionalcouriers", "theprofessionalcouriers", "tpc"),
    "Shree Maruti Courier": ("shreemaruticourier", "shreemaruti"),
    "Shree Nandan Courier": ("shreenandancourier", "shreenandan"),
    "Shree Tirupati Courier": ("shreetirupaticourier", "shreetirupati"),
    "Xpressbees": ("xpressbees",),
    "Amazon": ("amazon",),
    "An Post": ("anpost",),
    "APC": ("apc",),
    "Asendia USA": ("asendia", "asendiausa"),
    "Australia Post": ("australiapost", "auspost"),
    "BPost": ("bpost",),
    "Canada Post": ("canadapost",),
    "Canpar": ("canpar",),
    "China Post": ("chinapost",),
    "Chronopost": ("chronopost",),
    "Colissimo": ("colissimo",),
    "Correios": ("correios",),
    "Correos": ("correos",),
    "CTT": ("ctt",),
    "Deutsche Post": ("deutschepost",),
    "DHL eCommerce": ("dhlecommerce", "dhlecom"),
    "DHL Express": ("dhlexpress", "mydhl"),  # plain "DHL" is ambiguous: left as given
    "DPD": ("dpd",),
    "DPD UK": ("dpduk",),
    "Evri": ("evri", "hermesuk"),
    "FedEx": ("fedex", "federalexpress"),
    "GLS": ("gls",),
    "La Poste": ("laposte",),
    "New Zealand Post": ("newzealandpost", "nzpost"),
    "OnTrac": ("ontrac",),
    "PostNL": ("postnl",),
    "Poste Italiane": ("posteitaliane",),
    "Purolator": ("purolator",),
    "Royal Mail": ("royalmail",),
    "Sendle": ("sendle",),
    "UPS": ("ups", "unitedparcelservice"),
    "USPS": ("usps", "unitedstatespostalservice"),
}
_BY_KEY = {alias: name for name, aliases in SHOPIFY_COMPANIES.items() for alias in aliases}

# The store setting holding its tracking-URL templates (carrier -> URL with {number}).
TRACKING_URL_TEMPLATES = "tracking_url_templates"

# Carriers whose labels the bridge can buy (through the carrier layer), by the Shopify name
# (the aggregators by their own: Shopify lists their couriers, not them).
LABEL_CARRIERS = {"UPS": "ups", "Shiprocket": "shiprocket", "Clickpost": "clickpost"}
# The heaviest package each carrier takes, in grams (UPS: 150 lb).
WEIGHT_LIMITS_GRAMS = {"UPS": 68_038}


def _key(name: str) -> str:
    return re.sub(r"[\s._\-]+", "", name).lower()


def shopify_company(name: str) -> str | None:
    """The name Shopify recognises for ``name`` ("fedex" -> "FedEx"), or None when Shopify
    does not know the carrier."""
    return _BY_KEY.get(_key(name))


def courier_company(name: str) -> str:
    """The company to send for a courier an aggregator named ("Delhivery Surface 2kg" ->
    "Delhivery"): Shopify's name when the courier's name starts with one Shopify knows
    (aggregators add the service to the courier's name), else the name as given."""
    key = _key(name)
    if not key:
        return name.strip()
    exact = _BY_KEY.get(key)
    if exact is not None:
        return exact
    prefixes = [alias for alias in _BY_KEY if len(alias) >= 4 and key.startswith(alias)]
    return _BY_KEY[max(prefixes, key=len)] if prefixes else name.strip()


def company_name(name: str) -> str:
    """What to send as the tracking company: Shopify's spelling when it knows the carrier,
    else the operation's own name as given."""
    return shopify_company(name) or name.strip()


def tracking_url(
    company: str, number: str, templates: Mapping[str, str] | None = None
) -> str | None:
    """The tracking link the bridge sends for a package: the store's template for the
    carrier (``{number}`` stands for the tracking number), or none when Shopify builds the
    link itself (a recognised company) or no template is configured."""
    if not number or not templates:
        return None
    wanted = _key(company)
    for carrier, template in templates.items():
        if _key(carrier) == wanted:
            return template.replace("{number}", quote(number, safe=""))
    return None


def parse_url_templates(raw: Any) -> dict[str, str]:
    """A store's tracking-URL templates from JSON: ``{"Acme Freight":
    "https://track.acme.test/{number}"}``; each must be an http(s) URL with ``{number}``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ShippingError("tracking URL templates must be an object of carrier -> URL")
    if len(raw) > 100:
        raise ShippingError(f"{len(raw)} tracking URL templates; at most 100 are allowed")
    out: dict[str, str] = {}
    for carrier, template in raw.items():
        if not isinstance(carrier, str) or not carrier.strip() or len(carrier) > 255:
            raise ShippingError("a tracking URL template needs a carrier name (1-255 characters)")
        if not isinstance(template, str) or len(template) > 1000:
            raise ShippingError(
                f"the template for {carrier!r} must be text of at most 1000 characters"
            )
        if not template.startswith(("https://", "http://")) or "{number}" not in template:
            raise ShippingError(
                f"the template for {carrier!r} must be an http(s) URL containing {{number}}"
            )
        out[carrier.strip()] = template
    return out


@dataclass(frozen=True)
class Package:
    """One parcel of a shipment: its carrier and tracking, and what is in it (line id ->
    units) when the operation says."""

    company: str
    number: str
    url: str | None = None
    lines: Mapping[str, int] | None = None

    def as_tracking(self) -> dict[str, Any]:
        return {"company": self.company, "number": self.number, "url": self.url}


def normalised(
    packages: Iterable[Package], templates: Mapping[str, str] | None = None
) -> list[Package]:
    """Packages with Shopify's company names and, for carriers Shopify does not know, the
    link from the store's template when the operation gave none."""
    out = []
    for package in packages:
        company = company_name(package.company) if package.company else ""
        url = package.url
        if url is None and company and shopify_company(company) is None:
            url = tracking_url(company, package.number, templates)
        out.append(Package(company, package.number, url, package.lines))
    return out


def by_company(
    packages: Sequence[Package], quantities: Mapping[str, int]
) -> list[tuple[dict[str, int], list[Package]]]:
    """How a shipment goes to Shopify: one fulfillment per carrier, each with its lines.

    With one carrier (or none) everything is one fulfillment. With several, each package
    must say which lines it holds, together exactly the shipment's ``quantities``."""
    companies = list(dict.fromkeys(p.company for p in packages))
    if len(companies) <= 1:
        return [(dict(quantities), list(packages))]
    missing = [p.number or p.company for p in packages if not p.lines]
    if missing:
        raise ShippingError(
            "packages of different carriers go to Shopify as one fulfillment per carrier, so "
            f"each package must list its lines; missing for {', '.join(missing)}"
        )
    groups: list[tuple[dict[str, int], list[Package]]] = []
    total: dict[str, int] = {}
    for company in companies:
        mine = [p for p in packages if p.company == company]
        lines: dict[str, int] = {}
        for package in mine:
            for line, units in (package.lines or {}).items():
                if units <= 0:
                    continue
                lines[line] = lines.get(line, 0) + units
                total[line] = total.get(line, 0) + units
        groups.append((lines, mine))
    wanted = {k: v for k, v in quantities.items() if v}
    if total != wanted:
        raise ShippingError(
            f"the packages hold {_describe(total)} but the shipment is {_describe(wanted)}"
        )
    return groups


def _describe(quantities: Mapping[str, int]) -> str:
    return (
        ", ".join(f"{units} of line {line}" for line, units in sorted(quantities.items()))
        or "nothing"
    )
