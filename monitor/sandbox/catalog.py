"""The static catalogue of the simulated world: accounts, their time zones and currencies, and names."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.sandbox.settings import LARGE_ADVERTISER_ID

#: A campaign name with Slack and HTML metacharacters, to catch unescaped rendering.
HOSTILE_NAME = "Retargeting <!channel> & <b>VIP</b> \"cart\" 'abandoners'"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    advertiser_id: str
    name: str
    zone: str
    timezone: str  # offset-style name, as advertiser/info's `timezone`
    offset_hours: float  # standard offset
    currency: str
    country: str
    industry: str


ACCOUNTS = (
    AccountSpec(
        "7000000000000000001", "Acme Outdoor US", "America/New_York", "Etc/GMT+5", -5, "USD", "US", "Sports & Outdoor"
    ),
    AccountSpec(
        "7000000000000000002",
        "Kiwi Coffee Roasters",
        "Pacific/Auckland",
        "Etc/GMT-12",
        12,
        "NZD",
        "NZ",
        "Food & Beverage",
    ),
    AccountSpec(
        "7000000000000000003",
        "Aloha Surf Co.",
        "Pacific/Honolulu",
        "Etc/GMT+10",
        -10,
        "USD",
        "US",
        "Apparel & Accessories",
    ),
    AccountSpec(
        "7000000000000000004",
        "Sakura Cosmetics 株式会社",
        "Asia/Tokyo",
        "Etc/GMT-9",
        9,
        "JPY",
        "JP",
        "Beauty & Personal Care",
    ),
)
LARGE_ACCOUNT = AccountSpec(LARGE_ADVERTISER_ID, "Benchmark Megastore", "UTC", "Etc/GMT", 0, "USD", "US", "E-Commerce")

CAMPAIGN_NAMES = (
    "Summer Sale – Prospecting",
    "Retargeting – Cart Abandoners",
    "Brand Awareness Q3",
    "Holiday Promo",
    "App Installs iOS",
    "Lead Gen – Webinar",
)
OBJECTIVES = ("WEB_CONVERSIONS", "WEB_CONVERSIONS", "REACH", "TRAFFIC", "APP_PROMOTION", "LEAD_GENERATION")
AUDIENCES = ("Broad 18-44", "Lookalike 1%", "Interest: Outdoor", "Retarget 30d", "Women 25-54", "Men 18-34")
HOOKS = ("UGC unboxing", "Founder story", "Before/after 🎉", "Creator duet", "Product demo", "Testimonial")
GOALS = {
    "WEB_CONVERSIONS": ("CONVERT", "OCPM"),
    "TRAFFIC": ("CLICK", "CPC"),
    "REACH": ("REACH", "CPM"),
    "APP_PROMOTION": ("INSTALL", "OCPM"),
    "LEAD_GENERATION": ("LEAD_GENERATION", "OCPM"),
}
